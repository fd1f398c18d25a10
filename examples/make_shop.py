"""Generate the example shop in examples/shop/ (the data `genpage demo` loads).

    python examples/make_shop.py            # rewrites products.csv, users.csv, events.jsonl, personas.json

Everything is seeded and dated relative to ANCHOR, so the files are the same on every run and the tests that
read them are deterministic. The catalogue below is hand-written; only prices, stock, dates, users and their
event histories come from the random generator. Each product's image is a packaged picture chosen from its title
by draw_pictures.py (`picture:mug?tint=2f5d46`); run that script to redraw the pictures themselves. personas.json records each user's hidden interests (for tests
and demos); it is not ingested.
"""

# ruff: noqa: E501  (the catalogue is a data table: one product per line reads best)
from __future__ import annotations

import csv
import importlib.util
import json
import random
import re
from datetime import datetime, timedelta
from pathlib import Path

SEED = 20261101
ANCHOR = datetime(2026, 11, 1, 9, 0)  # "now" for the example shop: every event happens before it
OUT = Path(__file__).resolve().parent / "shop"


def _draw_pictures():  # the sibling script, loaded by path so this file also runs when loaded by path (tests)
    spec = importlib.util.spec_from_file_location("draw_pictures", Path(__file__).with_name("draw_pictures.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

# category -> (id prefix, [(title, description, brand, min price, max price)])
CATALOGUE: dict[str, tuple[str, list[tuple[str, str, str, float, float]]]] = {
    "Kitchen & Dining": ("KIT", [
        ("Stoneware Breakfast Mug, Speckled Oat", "A generous 400 ml mug in a speckled oatmeal glaze, thrown in Stoke-on-Trent. Dishwasher and microwave safe.", "Marlow Kitchen", 9, 14),
        ("Enamel Camping Mug, Forest Green", "A lightweight steel mug with a rolled rim that goes from the hob to the hillside. Holds 350 ml.", "Fern & Flint", 8, 12),
        ("Cast Iron Casserole Dish 24cm", "A heavy-based casserole with a self-basting lid for slow braises and crusty loaves. Works on every hob, induction included.", "Marlow Kitchen", 55, 85),
        ("Bamboo Chopping Boards, Set of 3", "Three nesting boards in sustainably grown bamboo, each with a juice groove. Gentle on knife edges.", "Greenleaf Home", 18, 26),
        ("Linen Napkins, Set of 4, Sage", "Stonewashed pure linen napkins that soften with every wash. 45 cm square.", "Juniper Lane", 16, 24),
        ("Porcelain Teapot with Infuser", "A one-litre teapot with a removable steel infuser for loose-leaf tea, in fine white porcelain with a matt finish.", "Copper Kettle Co.", 22, 32),
        ("Three-Tier Cake Stand, Vintage Rose", "A bone china cake stand printed with blush roses, ready for afternoon tea.", "Copper Kettle Co.", 24, 34),
        ("Olive Wood Salad Servers", "Hand-carved servers, each with its own grain pattern. Finished with food-safe oil.", "Fern & Flint", 12, 18),
        ("Glass Storage Jars, Set of 3", "Airtight borosilicate jars with beech lids for pasta, oats and coffee beans.", "Marlow Kitchen", 20, 30),
        ("Striped Cotton Apron, Navy", "A heavy cotton twill apron with a deep front pocket and an adjustable neck strap.", "Juniper Lane", 14, 20),
        ("Ceramic Pasta Bowls, Set of 4", "Wide, shallow bowls with a reactive sea-blue glaze, just right for pasta, salads and stews.", "Marlow Kitchen", 28, 40),
        ("Copper Measuring Cups", "Four stacking cups from a quarter to one cup, in copper-plated steel with engraved sizes.", "Copper Kettle Co.", 18, 25),
        ("Retro Tin Lunch Box", "A printed tin lunch box with a latched lid and a carry handle. Fits a sandwich, fruit and a treat.", "Little Otter", 8, 12),
        ("Cafetière 8-Cup, Matt Black", "A borosilicate glass and matt black steel French press that makes a full litre of coffee.", "Copper Kettle Co.", 24, 34),
        ("Waffle Tea Towels, Set of 2", "Absorbent cotton waffle towels in mustard and cream, with hanging loops.", "Juniper Lane", 9, 13),
        ("Silicone Baking Mats, Set of 2", "Non-stick mats that replace baking paper for biscuits and roasting. Oven safe to 230°C.", "Marlow Kitchen", 12, 16),
        ("Hammered Copper Water Jug", "A one-litre jug in hammered copper with a tin lining. Lovely on the dinner table.", "Hearth & Co", 30, 45),
        ("Recipe Tin with Divider Cards", "A painted tin for family recipes, with 60 ruled cards and alphabet dividers.", "Penrose Paper", 12, 18),
        ("Espresso Cups, Set of 4", "Small stoneware cups and saucers in four glaze colours. 90 ml each.", "Marlow Kitchen", 18, 26),
        ("Oak Serving Board with Handle", "A solid oak board for cheese and charcuterie, finished with beeswax.", "Fern & Flint", 22, 32),
    ]),
    "Home Decor": ("DEC", [
        ("Chunky Knit Throw, Oatmeal", "An oversized throw knitted from soft recycled cotton. 130 x 170 cm.", "Hearth & Co", 45, 65),
        ("Velvet Cushion Cover, Emerald", "A plush velvet cover with a hidden zip. 45 cm square; insert sold separately.", "Hearth & Co", 14, 20),
        ("Round Rattan Wall Mirror", "A 60 cm mirror framed in hand-woven rattan that brings a warm, natural touch to a hallway.", "Silverbirch", 48, 70),
        ("Ceramic Bud Vases, Set of 3", "Three small vases in chalky pastel glazes, for single stems and dried grasses.", "Silverbirch", 18, 26),
        ("Framed Botanical Print, Fern", "A 30 x 40 cm giclée print of a Victorian fern study in a slim oak frame.", "Penrose Paper", 28, 40),
        ("Seagrass Storage Basket", "A sturdy woven basket with handles for blankets, toys or logs.", "Greenleaf Home", 22, 32),
        ("Station Wall Clock, Silent", "A 30 cm station clock with a silent sweep movement and a brushed steel case.", "Wickford", 26, 38),
        ("Felted Wool Hare Doorstop", "A weighted grey hare in felted wool that keeps doors open and makes visitors smile.", "Little Otter", 18, 26),
        ("Macramé Wall Hanging", "Hand-knotted cotton macramé on a driftwood dowel, about 50 cm long.", "Juniper Lane", 24, 34),
        ("Faux Eucalyptus Stems, Bundle of 5", "Lifelike eucalyptus stems that stay fresh all year.", "Silverbirch", 12, 18),
        ("Enamel House Number Plaque", "A classic white-on-blue enamel plaque made to order with your house number.", "Wickford", 18, 26),
        ("Brass Coat Hooks, Set of 3", "Solid brass hooks with a soft antique finish; screws included.", "Wickford", 16, 24),
        ("Jute Doormat, Hello", "A natural coir and jute doormat that greets every visitor. 40 x 60 cm.", "Greenleaf Home", 16, 24),
        ("Photo Frame Trio, Brushed Gold", "Three matching frames for 4x6 and 5x7 photos, with easel backs.", "Silverbirch", 20, 30),
        ("Walnut Bookends, Pair", "A pair of weighty walnut bookends with felt bases.", "Fern & Flint", 22, 32),
        ("Patchwork Quilted Bedspread", "A reversible cotton quilt in faded indigo patchwork for a double bed.", "Hearth & Co", 70, 95),
        ("Zinc Hanging Heart", "A rustic zinc heart to hang on a door or in a window. 20 cm tall.", "Wickford", 6, 10),
        ("Marble Trinket Dish", "A small white marble dish for rings, keys and odds and ends.", "Silverbirch", 10, 15),
        ("Cable Knit Hot Water Bottle", "A two-litre hot water bottle in a cream cable-knit cover.", "Hearth & Co", 16, 24),
        ("Shaker Peg Shelf, Pine", "A pine shelf with three pegs for hallways and kitchens. 60 cm wide.", "Fern & Flint", 30, 42),
    ]),
    "Candles & Lights": ("LGT", [
        ("Soy Candle, Fig & Cassis", "A hand-poured soy wax candle with a cotton wick and about 45 hours of burn time.", "Lumen House", 14, 22),
        ("Beeswax Pillar Candles, Set of 3", "Pure British beeswax pillars that burn clean with a gentle honey scent.", "Lumen House", 18, 26),
        ("Glass Hurricane Lantern", "A tall clear-glass lantern with a black metal frame, for candles indoors or out.", "Lumen House", 24, 36),
        ("Copper Wire Fairy Lights, 10 m", "One hundred warm white micro LEDs on fine copper wire, with a timer and a USB plug.", "Lumen House", 12, 18),
        ("Linen Drum Lampshade 35cm", "A natural linen shade for ceiling or table lamps; fits E27 and B22 fittings.", "Hearth & Co", 26, 38),
        ("Ribbed Ceramic Table Lamp, Sage", "A ribbed stoneware base with a cream shade and a brass switch.", "Hearth & Co", 55, 80),
        ("Vanilla Tea Lights, Pack of 24", "Slow-burning tea lights in aluminium cups with a soft vanilla scent.", "Lumen House", 6, 9),
        ("Brass Candlesticks, Pair", "Tapered candlesticks in solid brass, 20 cm tall, for dinner candles.", "Wickford", 22, 32),
        ("Reed Diffuser, Sea Salt & Sage", "A 200 ml diffuser with rattan reeds that scents a room for up to three months.", "Lumen House", 18, 26),
        ("Mercury Glass Tea Light Holders, Set of 4", "Speckled silver glass holders that scatter candlelight around a room.", "Silverbirch", 14, 20),
        ("Solar Jar Lights, Pair", "Frosted jam-jar lights with a solar lid; they glow for eight hours after a sunny day.", "Greenleaf Home", 16, 24),
        ("Clip-On LED Reading Lamp", "A dimmable lamp with three colour temperatures and a USB-C charger.", "Atlas Goods", 20, 30),
        ("Ivory Dinner Candles, Set of 6", "Smooth, dripless, unscented dinner candles, 25 cm tall.", "Lumen House", 8, 12),
        ("Moroccan Pierced Metal Lantern", "A pierced lantern in antique brass that throws star patterns on the walls.", "Wickford", 28, 40),
        ("Concrete Candle, Amber & Oud", "A rich woody candle in a hand-cast concrete pot you can reuse as a planter.", "Lumen House", 24, 34),
        ("Himalayan Salt Lamp", "A hand-carved pink salt lamp on a wooden base, with a dimmer switch.", "Greenleaf Home", 22, 32),
        ("Paper Star Lantern, White", "A folding paper star with a pendant cable, 60 cm across.", "Lumen House", 18, 26),
        ("Flameless LED Pillar Candles, Set of 3", "Real-wax LED candles with a flickering flame and a remote control.", "Lumen House", 22, 32),
        ("Cook's Matches in a Glass Jar", "Long matches in a glass cloche with a striker on the base.", "Copper Kettle Co.", 8, 12),
        ("Balanced-Arm Desk Lamp, Mustard", "A mustard yellow desk lamp with a spring-balanced arm and a heavy base.", "Atlas Goods", 45, 65),
    ]),
    "Bags": ("BAG", [
        ("Waxed Canvas Weekender", "A roomy holdall in waxed cotton with leather handles and a shoe pocket.", "Atlas Goods", 75, 110),
        ("Leather Crossbody Bag, Tan", "A compact full-grain leather bag with an adjustable strap and two inner pockets.", "Atlas Goods", 55, 80),
        ("Jute Shopper with Leather Handles", "A sturdy everyday shopper with a water-resistant lining.", "Greenleaf Home", 16, 24),
        ("Insulated Lunch Bag, Red Spot", "Keeps lunch cool for hours, with a wipe-clean lining and a zip top.", "Little Otter", 10, 15),
        ("Recycled Nylon Backpack", "A 20-litre backpack made from recycled bottles, with a padded laptop sleeve.", "Atlas Goods", 45, 65),
        ("Canvas Tote, Wild Flowers", "A heavy cotton canvas tote printed with wild flowers; holds a week's shopping.", "Penrose Paper", 12, 18),
        ("Velvet Washbag, Navy", "A zipped washbag in soft velvet with a wipe-clean lining.", "Juniper Lane", 16, 24),
        ("Leather Card Wallet", "A slim vegetable-tanned wallet for six cards and folded notes.", "Atlas Goods", 20, 30),
        ("Foldaway Shopping Bag", "A nylon bag that folds into its own pocket and carries 15 kg.", "Greenleaf Home", 6, 9),
        ("Kids' Dinosaur Backpack", "A small backpack with felt dinosaur spikes and reflective straps.", "Little Otter", 16, 24),
        ("Quilted Laptop Sleeve, 14-inch", "A padded sleeve with a front pocket for chargers and notes.", "Atlas Goods", 20, 28),
        ("Woven Straw Beach Bag", "A wide straw bag with a cotton lining and a pom-pom trim.", "Juniper Lane", 24, 34),
        ("Leather Luggage Tag", "An embossed leather tag with a privacy flap and a buckle strap.", "Atlas Goods", 8, 12),
        ("Cotton Drawstring Gym Bag", "A light drawstring bag with reinforced corners for kit and trainers.", "Little Otter", 8, 12),
        ("Structured Tote, Black", "A faux leather tote with a zip pocket, big enough for an A4 folder.", "Juniper Lane", 32, 45),
        ("Picnic Cool Bag Backpack", "An insulated backpack that holds 24 cans, with a strap for a picnic blanket.", "Greenleaf Home", 28, 40),
        ("Passport Holder, Forest Green", "A leather cover for a passport and boarding pass, with a pen loop.", "Atlas Goods", 16, 22),
        ("Embroidered Coin Purse", "A small kiss-clasp purse with hand-embroidered flowers.", "Juniper Lane", 8, 12),
        ("Roll-Top Cycling Pannier", "A waterproof pannier with quick-release hooks and reflective trim.", "Atlas Goods", 40, 58),
        ("Mesh Produce Bags, Set of 5", "Reusable cotton mesh bags for fruit and vegetables, with tare weights.", "Greenleaf Home", 8, 12),
    ]),
    "Stationery & Gifts": ("STA", [
        ("Linen-Bound Notebook A5", "192 pages of dot-grid paper in a linen cover with a ribbon marker.", "Penrose Paper", 12, 18),
        ("Fountain Pen, Midnight Blue", "A steel-nib fountain pen with a converter and a box of cartridges.", "Penrose Paper", 22, 34),
        ("Botanical Greetings Cards, Pack of 8", "Eight blank cards with watercolour botanicals and kraft envelopes.", "Penrose Paper", 8, 12),
        ("Gift Wrap Roll, Kraft Stars", "Recyclable kraft paper printed with white stars. A 5 m roll.", "Penrose Paper", 4, 7),
        ("Weekly Desk Planner Pad", "A tear-off weekly planner with space for priorities and notes. 52 sheets.", "Penrose Paper", 8, 12),
        ("Washi Tape, Set of 6", "Six rolls of Japanese paper tape in muted colours for journals and gift wrap.", "Penrose Paper", 8, 12),
        ("Leather Journal with Wrap Strap", "A refillable A5 journal in soft leather, closed with a long wrap strap.", "Atlas Goods", 24, 34),
        ("Colouring Pencils, Tin of 24", "Artist-grade pencils with soft, blendable leads in a hinged tin.", "Penrose Paper", 12, 18),
        ("Wax Seal Kit", "A brass seal stamp with three sticks of sealing wax and a melting spoon.", "Penrose Paper", 16, 24),
        ("Engraved Brass Bookmark", "A slim brass bookmark engraved with up to 20 letters.", "Wickford", 10, 15),
        ("Hardback Sketchbook Trio", "Three sketchbooks in A6, A5 and A4 with 150 gsm paper.", "Penrose Paper", 18, 26),
        ("Canvas Pencil Case", "A zipped canvas case with a leather pull that holds 20 pens.", "Atlas Goods", 10, 15),
        ("Wall Calendar 2027, Seasonal Gardens", "Twelve months of garden illustrations with room to write.", "Penrose Paper", 12, 16),
        ("Wooden Bird Fridge Magnets, Set of 6", "Hand-painted wooden bird magnets for notes and postcards.", "Little Otter", 8, 12),
        ("Letterpress Thank You Cards, Pack of 10", "Letterpress-printed notecards on thick cotton board.", "Penrose Paper", 10, 14),
        ("Gift Box with Tissue, Large", "A rigid gift box with ribbon and tissue paper, ready to fill.", "Penrose Paper", 6, 9),
        ("Linen Memo Board with Ribbons", "A linen-covered board with crossed ribbons for photos and notes.", "Juniper Lane", 18, 26),
        ("Brass Desk Tidy", "A heavy brass pot for pens, scissors and rulers.", "Wickford", 16, 24),
        ("Hardback Recipe Journal", "A book of ruled recipe pages with tabs and a pocket for cuttings.", "Penrose Paper", 14, 20),
        ("Letter Writing Set", "Twenty sheets of cotton paper, ten envelopes and a bookmark in a keepsake box.", "Penrose Paper", 14, 20),
    ]),
    "Toys & Kids": ("TOY", [
        ("Wooden Rainbow Stacker", "Seven painted beechwood arches for stacking, balancing and imaginative play.", "Little Otter", 22, 32),
        ("Knitted Bunny Soft Toy", "A hand-knitted cotton bunny with long ears, safe from birth.", "Little Otter", 16, 24),
        ("Farmyard Floor Jigsaw, 48 Pieces", "A chunky floor puzzle of a busy farmyard for ages three and up.", "Little Otter", 10, 15),
        ("Wooden Train Set, 30 Pieces", "Track, a bridge, an engine and carriages that fit most wooden railways.", "Little Otter", 32, 48),
        ("Children's Watercolour Paint Set", "Twelve bright colours with two brushes and a mixing palette.", "Penrose Paper", 8, 12),
        ("Felt Play Food Picnic Set", "Felt sandwiches, fruit and cupcakes with a little wicker basket.", "Little Otter", 20, 28),
        ("Dinosaur Skittles", "Six wooden dinosaur skittles and a ball in a cotton bag.", "Little Otter", 14, 20),
        ("Baby Muslin Squares, Set of 3", "Soft organic cotton muslins printed with tiny stars.", "Little Otter", 10, 15),
        ("Humming Tin Spinning Top", "A painted tin top that hums as it spins.", "Little Otter", 8, 12),
        ("Build-Your-Own Bird Box Kit", "A pre-cut pine kit with nails and instructions for young builders.", "Greenleaf Home", 14, 20),
        ("Magnetic Fishing Game", "Ten wooden sea creatures and two magnetic rods for small hands.", "Little Otter", 12, 18),
        ("Children's Cutlery Set, Pink Spot", "A knife, fork and spoon sized for little hands; dishwasher safe.", "Little Otter", 8, 12),
        ("Dolls' House Sitting Room Set", "Miniature wooden sofa, armchairs, lamp and rug in pastel colours.", "Little Otter", 20, 30),
        ("Glow-in-the-Dark Star Stickers", "Two hundred stars and moons for bedroom ceilings.", "Little Otter", 5, 8),
        ("Wooden Marble Run, 60 Pieces", "A marble run that can be built in dozens of ways.", "Little Otter", 30, 45),
        ("Rag Doll, Poppy", "A cloth doll with an embroidered face, wool hair and a removable dress.", "Little Otter", 22, 30),
        ("Kids' Gardening Set", "A child-sized trowel, fork and watering can in bright red metal.", "Greenleaf Home", 16, 24),
        ("Beginner's Felt Sewing Kit", "Felt shapes, blunt needles and threads to make three little animals.", "Penrose Paper", 12, 18),
        ("Giant Bubble Wand Set", "Giant wands with a tray and bubble mixture for garden fun.", "Little Otter", 8, 12),
        ("Illustrated Alphabet Wall Chart", "A large A-to-Z poster for nurseries and playrooms.", "Penrose Paper", 12, 18),
    ]),
    "Garden": ("GAR", [
        ("Galvanised Watering Can, 5 L", "A classic zinc watering can with a brass rose for gentle watering.", "Greenleaf Home", 24, 34),
        ("Terracotta Herb Pots, Set of 3", "Frost-resistant pots with saucers for basil, thyme and mint.", "Greenleaf Home", 14, 20),
        ("Copper Roof Bird Feeder", "A hanging seed feeder with a copper roof and six feeding ports.", "Fern & Flint", 18, 26),
        ("Garden Kneeler and Seat", "Flip it one way to kneel and the other to sit; padded and foldable.", "Greenleaf Home", 28, 40),
        ("Stainless Trowel and Fork Set", "Ash-handled hand tools that will last for decades.", "Fern & Flint", 20, 28),
        ("Solar Festoon Lights, 10 Bulbs", "Shatterproof LED bulbs on a weatherproof cable for patios and pergolas.", "Lumen House", 24, 36),
        ("Heritage Vegetable Seed Tin", "Six packets of heritage vegetable seeds in a printed tin.", "Greenleaf Home", 12, 18),
        ("Birch Plant Labels, Pack of 50", "Wooden plant markers with a pencil for sowing days.", "Greenleaf Home", 4, 7),
        ("Rattan Hanging Planter", "A woven planter on a jute rope for trailing plants.", "Greenleaf Home", 16, 24),
        ("Timber Hedgehog House", "A snug shelter with a tunnel entrance that keeps out predators.", "Fern & Flint", 30, 45),
        ("Leather Gardening Gloves", "Supple goatskin gloves with cotton cuffs; thorn-resistant.", "Fern & Flint", 12, 18),
        ("Enamel Garden Thermometer", "A large dial thermometer for the garden wall or shed.", "Wickford", 14, 20),
        ("Bamboo Cloches, Set of 3", "Airy bamboo cloches that protect seedlings from frost and slugs.", "Greenleaf Home", 18, 26),
        ("Garden Twine in a Tin", "Natural jute twine in a tin with a built-in cutter.", "Fern & Flint", 6, 9),
        ("Cast Stone Bird Bath", "A pedestal bird bath with a scalloped bowl, about 60 cm tall.", "Fern & Flint", 55, 80),
        ("Folding Bistro Chair, Sage", "A steel bistro chair for balconies and patios.", "Greenleaf Home", 35, 50),
        ("Enamel Compost Caddy", "A five-litre kitchen caddy with a charcoal filter lid.", "Greenleaf Home", 18, 26),
        ("Wildflower Seed Bombs, Pack of 10", "Clay and compost balls full of native wildflower seeds: throw and grow.", "Greenleaf Home", 8, 12),
        ("Bee and Bug Insect Hotel", "A timber tower with bamboo tubes and pine cones for bees and ladybirds.", "Fern & Flint", 18, 26),
        ("Waterproof Tartan Picnic Blanket", "A soft wool-mix blanket with a waterproof backing and a carry strap.", "Hearth & Co", 28, 40),
    ]),
    "Jewellery & Accessories": ("JEW", [
        ("Silver Stacking Rings, Set of 3", "Three slim hammered sterling silver bands to wear alone or together.", "Silverbirch", 28, 40),
        ("Freshwater Pearl Drop Earrings", "Single pearls on sterling silver hooks, gift boxed.", "Silverbirch", 24, 34),
        ("Gold Vermeil Initial Necklace", "A delicate disc engraved with your initial on an 18-inch chain.", "Silverbirch", 35, 50),
        ("Beaded Friendship Bracelets, Set of 4", "Glass seed beads on stretch cord in four summer colours.", "Juniper Lane", 10, 15),
        ("Lambswool Scarf, Heather Check", "A soft scarf woven in the Scottish Borders.", "Hearth & Co", 35, 50),
        ("Cashmere-Lined Leather Gloves", "Slim-fit leather gloves with a warm cashmere lining.", "Atlas Goods", 40, 58),
        ("Silk Scrunchies, Set of 3", "Pure mulberry silk scrunchies that are kind to hair.", "Juniper Lane", 14, 20),
        ("Compact Travel Umbrella", "A windproof umbrella that folds to 25 cm and opens at the press of a button.", "Atlas Goods", 16, 24),
        ("Garden Birds Enamel Pins, Set of 3", "Hard enamel pin badges of a robin, a wren and a blue tit.", "Penrose Paper", 10, 14),
        ("Sterling Silver Charm Bracelet", "A chain bracelet with a heart charm; add more charms over time.", "Silverbirch", 30, 45),
        ("Merino Beanie, Mustard", "A ribbed merino wool beanie with a deep turn-up.", "Hearth & Co", 18, 26),
        ("Tortoiseshell Hair Claw", "A large acetate claw clip that holds thick hair all day.", "Juniper Lane", 8, 12),
        ("Leather Watch Strap, Tan", "A 20 mm quick-release strap in vegetable-tanned leather.", "Atlas Goods", 18, 26),
        ("Velvet Jewellery Travel Case", "A zipped case with ring rolls and earring slots.", "Juniper Lane", 18, 26),
        ("Crystal Huggie Hoop Earrings", "Small gold-plated hoops set with sparkling crystals.", "Silverbirch", 20, 30),
        ("Cashmere Blend Wrap, Dove Grey", "A generous wrap that doubles as a travel blanket.", "Hearth & Co", 48, 70),
        ("Suede Tassel Keyring", "A brass key ring with a soft suede tassel in burnt orange.", "Atlas Goods", 8, 12),
        ("Birthstone Pendant", "A sterling silver pendant set with the birthstone of your choice.", "Silverbirch", 28, 40),
        ("Round Tortoiseshell Sunglasses", "Classic round frames with UV400 lenses and a case.", "Atlas Goods", 22, 32),
        ("Wood and Glass Bead Necklace", "A chunky statement necklace of glass and wooden beads in autumn tones.", "Juniper Lane", 24, 34),
    ]),
    "Christmas": ("XMS", [
        ("Glass Baubles, Set of 12, Midnight Blue", "Hand-blown baubles in matt and gloss midnight blue, gift boxed.", "Holly & Ivy", 18, 26),
        ("Felt Advent Calendar", "Twenty-four felt pockets on a hanging banner, ready to fill every year.", "Holly & Ivy", 28, 40),
        ("Carved Wooden Nativity Set", "A painted nativity of nine pieces with a stable.", "Holly & Ivy", 35, 50),
        ("Eucalyptus and Pine Christmas Wreath", "A lush faux wreath with pine cones and berries, 50 cm across.", "Holly & Ivy", 34, 48),
        ("Fair Isle Knitted Stocking", "A knitted Christmas stocking with a loop for a name tag.", "Holly & Ivy", 16, 24),
        ("Gold Star Tree Topper", "A glittering wire star with a warm LED glow.", "Holly & Ivy", 14, 20),
        ("Luxury Christmas Crackers, Set of 8", "Crackers with metal gifts, paper hats and groan-worthy jokes.", "Holly & Ivy", 22, 32),
        ("Wooden Reindeer Fairy Lights", "A string of 20 tiny wooden reindeer with warm white LEDs.", "Lumen House", 14, 20),
        ("Spiced Orange Christmas Candle", "Orange, clove and cinnamon in a glass tumbler with a gold lid.", "Lumen House", 18, 26),
        ("Robin Christmas Cards, Pack of 10", "Robins in the snow, with envelopes; every pack supports a bird charity.", "Penrose Paper", 6, 9),
        ("Paper Snowflake Garland", "A three-metre garland of white paper snowflakes.", "Holly & Ivy", 8, 12),
        ("Personalised Santa Sack", "A large hessian sack printed with a name for Christmas Eve.", "Holly & Ivy", 20, 28),
        ("Gingerbread House Kit", "Pre-baked gingerbread walls with icing and sweets to decorate.", "Copper Kettle Co.", 14, 20),
        ("Tartan Table Runner", "A red and green wool tartan runner for the festive table.", "Hearth & Co", 22, 32),
        ("Christmas Gift Wrap Set", "Three rolls of festive paper with tags and ribbon.", "Penrose Paper", 10, 15),
        ("Birch Tree Decorations, Set of 10", "Laser-cut stars, hearts, trees and reindeer to hang on the tree.", "Holly & Ivy", 10, 15),
        ("Stoneware Christmas Pudding Basin", "A traditional pudding basin with a fitted lid.", "Marlow Kitchen", 12, 18),
        ("Light-Up Christmas Village", "A ceramic village scene with a church and snowy houses, lit by LEDs.", "Holly & Ivy", 40, 58),
        ("Mistletoe Kissing Ball", "A faux mistletoe ball on a velvet ribbon to hang in a doorway.", "Holly & Ivy", 12, 18),
        ("Snowflake Christmas Jumper for Dogs", "A cosy knitted dog jumper in three sizes.", "Little Otter", 14, 20),
    ]),
    "Party": ("PTY", [
        ("Pastel Spot Fabric Bunting, 10 m", "Double-sided cotton bunting that lasts for years of parties.", "Bright Bunting Co.", 18, 26),
        ("Confetti Paper Plates, Pack of 12", "Sturdy compostable plates in a confetti print.", "Bright Bunting Co.", 5, 8),
        ("Candy Stripe Paper Cups, Pack of 12", "Compostable cups with candy stripes for juice and lemonade.", "Bright Bunting Co.", 4, 7),
        ("Gold Foil Number Balloon", "A large foil number balloon; choose any number from 0 to 9.", "Bright Bunting Co.", 5, 8),
        ("Rainbow Birthday Candles, Pack of 24", "Slim spiral candles in rainbow colours, with holders.", "Bright Bunting Co.", 3, 5),
        ("Striped Party Bags, Pack of 10", "Paper party bags with stickers to seal them.", "Bright Bunting Co.", 5, 8),
        ("Honeycomb Paper Decorations, Set of 6", "Fold-out honeycomb balls in pinks and golds.", "Bright Bunting Co.", 10, 15),
        ("Happy Birthday Cake Topper", "A gold acrylic cake topper on a wooden stick.", "Bright Bunting Co.", 6, 9),
        ("Confetti Cannons, Pair", "Push-up cannons that burst biodegradable paper confetti.", "Bright Bunting Co.", 8, 12),
        ("Striped Paper Straws, Pack of 50", "Paper straws that don't go soggy.", "Bright Bunting Co.", 3, 5),
        ("Pirate Fancy Dress Kit", "A hat, an eye patch and a foam sword for young pirates.", "Little Otter", 12, 18),
        ("Sunset Tissue Tassel Garland", "A ready-made garland of 20 tissue tassels in sunset colours.", "Bright Bunting Co.", 8, 12),
        ("Classic Party Games Box", "Pass the parcel, pin the tail and more in one box.", "Little Otter", 14, 20),
        ("Balloon Arch Kit, Sage and Gold", "One hundred balloons with an arch strip and glue dots.", "Bright Bunting Co.", 18, 26),
        ("Gold Edge Napkins, Pack of 20", "Three-ply paper napkins with a gold foil edge.", "Bright Bunting Co.", 4, 7),
        ("Photo Booth Props Set", "Thirty card props on sticks: moustaches, glasses and speech bubbles.", "Bright Bunting Co.", 8, 12),
        ("Llama Piñata", "A colourful tissue paper llama to fill with sweets.", "Bright Bunting Co.", 16, 24),
        ("Mirror Disco Ball 20cm", "A mirrored disco ball with a hanging ring for dance parties.", "Lumen House", 14, 20),
        ("Balloon Party Invitations, Pack of 12", "Fill-in invitations with matching envelopes.", "Penrose Paper", 5, 8),
        ("Bamboo Party Cups, Set of 6", "Reusable cups in six colours; dishwasher safe.", "Bright Bunting Co.", 12, 16),
    ]),
}

# What shoppers with an interest type into the search box.
SEARCHES: dict[str, list[str]] = {
    "Kitchen & Dining": ["teapot", "stoneware mug", "cake stand", "linen napkins", "casserole dish", "cafetiere"],
    "Home Decor": ["cushion cover", "wall mirror", "throw blanket", "bud vase", "storage basket", "wall clock"],
    "Candles & Lights": ["scented candle", "fairy lights", "lantern", "table lamp", "tea lights", "reed diffuser"],
    "Bags": ["backpack", "tote bag", "weekend bag", "card wallet", "lunch bag"],
    "Stationery & Gifts": ["notebook", "fountain pen", "greetings cards", "gift wrap", "washi tape", "calendar 2027"],
    "Toys & Kids": ["wooden toys", "jigsaw", "soft toy", "train set", "gift for toddler"],
    "Garden": ["watering can", "bird feeder", "herb pots", "garden tools", "hedgehog house"],
    "Jewellery & Accessories": ["silver necklace", "pearl earrings", "wool scarf", "bracelet", "leather gloves"],
    "Christmas": ["christmas decorations", "advent calendar", "baubles", "christmas wreath", "crackers"],
    "Party": ["party decorations", "balloons", "bunting", "birthday candles", "paper plates"],
}

TAG_WORDS = {
    "linen", "cotton", "wool", "velvet", "leather", "brass", "copper", "silver", "gold", "glass", "ceramic",
    "stoneware", "porcelain", "oak", "walnut", "bamboo", "rattan", "jute", "enamel", "zinc", "felt", "beeswax",
    "soy", "wooden", "knitted", "solar", "led", "scented", "vintage", "personalised", "reusable", "recycled",
    "kids", "baby", "tea", "coffee", "birds", "candles", "christmas", "birthday", "travel", "picnic",
}
COUNTRIES = ["United Kingdom"] * 12 + ["Ireland", "France", "Germany", "Netherlands", "Spain", "Belgium", "Norway",
                                       "Australia"]
SEGMENTS = ["new", "regular", "regular", "loyal", "lapsed"]


def _tags(category: str, title: str, description: str) -> list[str]:
    words = set(re.findall(r"[a-z]+", f"{title} {description}".lower()))
    slug = re.sub(r"[^a-z]+", "-", category.lower()).strip("-")
    return [slug] + sorted(words & TAG_WORDS)


def _price(rng: random.Random, low: float, high: float) -> float:
    return round(max(1.0, round(rng.uniform(low, high) * 2) / 2) - 0.01, 2)


def make_products(rng: random.Random) -> list[dict[str, object]]:
    picture_ref = _draw_pictures().picture_ref
    products: list[dict[str, object]] = []
    for category, (prefix, items) in CATALOGUE.items():
        recent = set(rng.sample(range(len(items)), 2))  # ~20 new arrivals in all
        for n, (title, description, brand, low, high) in enumerate(items, start=1):
            age_days = rng.uniform(1, 21) if n - 1 in recent else rng.uniform(35, 365)
            created = (ANCHOR - timedelta(days=age_days)).replace(minute=0, second=0, microsecond=0)
            products.append({
                "id": f"{prefix}-{n:03d}",
                "title": title,
                "description": description,
                "category": category,
                "brand": brand,
                "price": _price(rng, low, high),
                "currency": "GBP",
                "in_stock": "false" if rng.random() < 0.08 else "true",
                "created_at": created.isoformat(),
                "tags": ";".join(_tags(category, title, description)),
                "image_url": picture_ref(title, category),
            })
    return products


def make_users(rng: random.Random) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    categories = list(CATALOGUE)
    users: list[dict[str, str]] = []
    personas: dict[str, list[str]] = {}
    for n in range(1, 61):
        uid = f"u{n:03d}"
        if n in (3, 17, 29, 41, 52, 60):  # a few shoppers with no interest (three of them have no history at all)
            interests: list[str] = []
        elif n % 4 == 2:  # about a fifth have two interests
            interests = rng.sample(categories, 2)
        else:
            interests = [categories[(n * 7) % len(categories)]]
        personas[uid] = interests
        users.append({"id": uid, "country": rng.choice(COUNTRIES), "segment": rng.choice(SEGMENTS)})
    personas["u001"], personas["u002"] = ["Kitchen & Dining"], ["Garden", "Toys & Kids"]  # the demo's examples
    return users, personas


def _session(rng: random.Random, uid: str, sid: str, start: datetime, interests: list[str],
             by_category: dict[str, list[dict[str, object]]], catalogue: list[dict[str, object]]) -> list[dict]:
    events: list[dict] = []
    t = start
    if interests and rng.random() < 0.5:
        query = rng.choice(SEARCHES[rng.choice(interests)])
        events.append({"user_id": uid, "type": "search", "query": query, "timestamp": t, "session_id": sid})
    carted = []
    for _ in range(rng.randint(2, 6)):
        t += timedelta(minutes=rng.randint(1, 4), seconds=rng.randint(0, 59))
        pool = by_category[rng.choice(interests)] if interests and rng.random() < 0.85 else catalogue
        item = rng.choice(pool)
        if rng.random() < 0.4:
            events.append({"user_id": uid, "type": "click", "item_id": item["id"], "timestamp": t, "session_id": sid})
            t += timedelta(seconds=rng.randint(2, 20))
        events.append({"user_id": uid, "type": "view", "item_id": item["id"], "timestamp": t, "session_id": sid})
        if interests and rng.random() < 0.3:
            t += timedelta(seconds=rng.randint(10, 90))
            events.append({"user_id": uid, "type": "add_to_cart", "item_id": item["id"], "timestamp": t,
                           "session_id": sid})
            carted.append(item)
    t += timedelta(minutes=rng.randint(2, 8))
    for item in carted:
        if item["in_stock"] == "true" and rng.random() < 0.6:
            quantity = 1 if rng.random() < 0.8 else 2
            events.append({"user_id": uid, "type": "purchase", "item_id": item["id"], "quantity": quantity,
                           "value": round(float(item["price"]) * quantity, 2), "timestamp": t, "session_id": sid})
    return events


def _after_purchase(rng: random.Random, purchase: dict) -> list[dict]:
    """Some purchases get a review a few days later, and a few come back."""
    out: list[dict] = []
    uid, item = purchase["user_id"], purchase["item_id"]
    when = purchase["timestamp"] + timedelta(days=rng.randint(3, 14), hours=rng.randint(0, 10))
    if rng.random() < 0.35 and when < ANCHOR:
        rating = rng.choices([5, 4, 3, 2, 1], weights=[45, 35, 12, 5, 3])[0]
        out.append({"user_id": uid, "type": "review", "item_id": item, "rating": rating, "timestamp": when})
    back = purchase["timestamp"] + timedelta(days=rng.randint(5, 20))
    if rng.random() < 0.06 and back < ANCHOR:
        out.append({"user_id": uid, "type": "return", "item_id": item, "quantity": 1,
                    "value": round(purchase["value"] / purchase["quantity"], 2), "timestamp": back})
    return out


def make_events(rng: random.Random, users: list[dict[str, str]], personas: dict[str, list[str]],
                products: list[dict[str, object]]) -> list[dict]:
    by_category: dict[str, list[dict[str, object]]] = {}
    for p in products:
        by_category.setdefault(str(p["category"]), []).append(p)
    sessions_by_segment = {"new": (1, 3), "regular": (4, 8), "loyal": (8, 12), "lapsed": (3, 5)}
    events: list[dict] = []
    for user in users:
        uid, interests = user["id"], personas[user["id"]]
        if not interests and uid in ("u003", "u029", "u060"):
            continue  # cold-start shoppers: no history at all
        low, high = sessions_by_segment[user["segment"]] if interests else (1, 1)
        window = (60, 150) if user["segment"] == "lapsed" else (0.2, 120)
        for s in range(rng.randint(low, high)):
            day = ANCHOR - timedelta(days=rng.uniform(*window))
            start = day.replace(hour=rng.randint(7, 22), minute=rng.randint(0, 59), second=0, microsecond=0)
            session = _session(rng, uid, f"{uid}-s{s + 1}", start, interests, by_category, products)
            events += session
            for e in session:
                if e["type"] == "purchase":
                    events += _after_purchase(rng, e)
    events = [e for e in events if e["timestamp"] < ANCHOR]
    events.sort(key=lambda e: (e["timestamp"], e["user_id"]))
    return events


def main() -> None:
    rng = random.Random(SEED)
    products = make_products(rng)
    users, personas = make_users(rng)
    events = make_events(rng, users, personas, products)
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "products.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(products[0]))
        writer.writeheader()
        writer.writerows(products)
    with (OUT / "users.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "country", "segment"])
        writer.writeheader()
        writer.writerows(users)
    with (OUT / "events.jsonl").open("w", encoding="utf-8") as fh:
        for e in events:
            row = {k: v for k, v in e.items() if k != "timestamp"} | {"timestamp": e["timestamp"].isoformat()}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    (OUT / "personas.json").write_text(json.dumps(personas, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    counts: dict[str, int] = {}
    for e in events:
        counts[e["type"]] = counts.get(e["type"], 0) + 1
    print(f"wrote {len(products)} products, {len(users)} users, {len(events)} events {counts} to {OUT}")


if __name__ == "__main__":
    main()
