"""The feedback loop: what shoppers are shown and what they click, learned from and judged offline.

- tracking.py: page ids, impression rows with the policy's probabilities, signed click tokens
- bandit.py: the shelf-order policies (fixed, random, Thompson sampling over click-through, per segment)
- ope.py: off-policy evaluation of a policy from logged impressions and clicks (IPS, SNIPS, DR)
- charts.py: static SVG charts (no script) for the bench and the dashboard

After `campaigns` and before `engine`: the engine logs what it shows and asks the policy for the shelf order.
"""
