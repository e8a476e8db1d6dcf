"""Fixed vocabularies and distributions, kept apart so the samplers read as logic, not word lists."""

from __future__ import annotations

from datetime import UTC, datetime

from personagraph.graph.kinds import EventKind, TieKind

START = int(datetime(2019, 1, 1, tzinfo=UTC).timestamp())
END = int(datetime(2025, 6, 30, 23, 59, 59, tzinfo=UTC).timestamp())
DAY = 86_400

# Word lists read better packed than one entry per line.
# fmt: off

# channel_id, name, kind, share of acquisitions
CHANNELS: tuple[tuple[str, str, str, float], ...] = (
    ("web", "Web shop", "online", 0.22),
    ("app", "Mobile app", "online", 0.20),
    ("wechat", "WeChat mini-program", "social", 0.15),
    ("douyin", "Douyin shop", "social", 0.10),
    ("ads", "Search ads", "ads", 0.08),
    ("store", "Flagship store", "store", 0.08),
    ("outlet", "Partner outlet", "offline", 0.07),
    ("referral", "Friend referral", "referral", 0.10),
)
REFERRAL = 7
ONLINE = (0, 1, 2, 3, 4)  # channels an event can come through
SELLING = (0, 1, 2, 3, 5, 6)  # channels an order can come through

# top category -> (subcategory, base price, product nouns)
CATEGORIES: tuple[tuple[str, tuple[tuple[str, float, tuple[str, ...]], ...]], ...] = (
    ("Vehicles", (
        ("E-bikes", 2600.0, ("city e-bike", "folding e-bike", "cargo e-bike")),
        ("Scooters", 1800.0, ("kick scooter", "e-scooter")),
        ("Accessories", 150.0, ("bike helmet", "bike lock", "phone mount")),
    )),
    ("Electronics", (
        ("Phones", 3500.0, ("smartphone", "phone")),
        ("Headphones", 600.0, ("earbuds", "headphones")),
        ("Smart home", 400.0, ("smart plug", "smart speaker", "camera")),
        ("Chargers", 90.0, ("charger", "power bank", "cable")),
    )),
    ("Outdoor", (
        ("Camping", 500.0, ("tent", "sleeping bag", "camp stove")),
        ("Running", 450.0, ("running shoes", "running vest")),
        ("Cycling apparel", 300.0, ("cycling jersey", "cycling gloves")),
    )),
    ("Home", (
        ("Kitchen", 350.0, ("rice cooker", "kettle", "knife set")),
        ("Bedding", 400.0, ("duvet", "pillow", "sheet set")),
        ("Decor", 150.0, ("lamp", "vase", "wall clock")),
    )),
    ("Fashion", (
        ("Shoes", 600.0, ("sneakers", "loafers", "boots")),
        ("Bags", 800.0, ("backpack", "tote bag", "handbag")),
        ("Watches", 1500.0, ("watch", "smartwatch")),
    )),
    ("Beauty", (
        ("Skincare", 250.0, ("face cream", "serum", "sunscreen")),
        ("Makeup", 180.0, ("lipstick", "foundation")),
        ("Fragrance", 500.0, ("perfume", "cologne")),
        ("Hair care", 120.0, ("shampoo", "hair dryer")),
    )),
)
BRANDS_PER_TOP = 5
BRANDS = (
    "Voltra", "Zenwheel", "Kestrel", "Norda", "Rivo",
    "Lumio", "Aurex", "Orbix", "Nimbus", "Tanso",
    "Pinecrest", "Koru", "Stratos", "Tidewater", "Ember",
    "Moka", "Hanami", "Brightfield", "Arden", "Onda",
    "Qinglan", "Corvo", "Velia", "Haile", "Kite",
    "Seren", "Solvia", "Ludo", "Yunfeng", "Maple",
)
ADJECTIVES = ("Classic", "Pro", "Lite", "Urban", "Max", "Air", "Eco", "Plus", "Mini", "Studio")
SEARCH_PREFIXES = ("", "cheap ", "best ", "", "new ")

FIRST_NAMES = (
    "ann", "wei", "li", "jing", "ming", "hui", "yan", "lei", "tao", "xin", "anna", "david", "emma",
    "lucas", "mia", "noah", "chen", "fang", "hong", "jun", "kai", "lin", "mei", "ping", "qiang",
    "rui", "shan", "ting", "xiao", "yu",
)
LAST_NAMES = (
    "lee", "wang", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma",
    "zhu", "hu", "guo", "he", "lin", "luo", "gao", "smith", "brown", "tan", "ng", "lim", "kim",
    "park", "ho", "lau", "chan",
)
EMAIL_DOMAINS = ("example.com", "mail.example.cn", "example.org", "inbox.example.net")

# city, region, country, weight
CITIES: tuple[tuple[str, str, str, float], ...] = (
    ("Shanghai", "East", "CN", 14.0), ("Hangzhou", "East", "CN", 7.0), ("Nanjing", "East", "CN", 5.0),
    ("Suzhou", "East", "CN", 4.0), ("Beijing", "North", "CN", 13.0), ("Tianjin", "North", "CN", 4.0),
    ("Guangzhou", "South", "CN", 9.0), ("Shenzhen", "South", "CN", 9.0), ("Chengdu", "West", "CN", 7.0),
    ("Chongqing", "West", "CN", 6.0), ("Wuhan", "Central", "CN", 6.0), ("Xian", "West", "CN", 4.0),
    ("Singapore", "SEA", "SG", 2.0), ("Kuala Lumpur", "SEA", "MY", 1.5),
)
GENDERS = (("female", 0.48), ("male", 0.48), ("other", 0.015), ("", 0.025))
OCCUPATIONS = (
    "engineer", "designer", "teacher", "student", "doctor", "nurse", "sales", "manager", "clerk",
    "driver", "chef", "artist", "retired", "freelancer", "civil servant",
)
EDUCATION = (
    ("high_school", 0.25), ("associate", 0.2), ("bachelor", 0.38), ("master", 0.14), ("doctorate", 0.03),
)
INCOME = (("low", 0.25), ("medium", 0.42), ("high", 0.25), ("very_high", 0.08))

EVENT_KINDS = (
    (EventKind.VIEW.value, 0.55), (EventKind.CLICK.value, 0.2), (EventKind.LIKE.value, 0.08),
    (EventKind.COMMENT.value, 0.04), (EventKind.SHARE.value, 0.03), (EventKind.SEARCH.value, 0.10),
)
SEARCH = 5
TIE_KINDS = tuple(k.value for k in TieKind)  # in the order of social.py's FOLLOWS, FRIEND, REFERRED

# Weights of the UTC hour an event happens at; night is 22:00-04:00 UTC.
NIGHT_HOURS = (22, 23, 0, 1, 2, 3)
DAY_HOURS = (1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.0, 2.0, 3.0, 4.0, 4.0, 5.0,
             6.0, 5.0, 4.0, 4.0, 4.0, 5.0, 6.0, 7.0, 7.0, 6.0, 2.0, 1.5)
# fmt: on
NIGHT_OWL_HOURS = tuple(30.0 if h in NIGHT_HOURS else 1.0 for h in range(24))

# tag_id, name, tier, parent_id, description
TAGS: tuple[tuple[str, str, str, str, str], ...] = (
    ("demo", "Demographics", "basic", "", "Who the customer is"),
    ("demo-young", "Young adult", "basic", "demo", "Aged 18 to 30"),
    ("demo-parent", "Parent", "basic", "demo", "Buys for a household with children"),
    ("demo-senior", "Senior", "basic", "demo", "Aged 60 and over"),
    ("beh", "Behaviour", "behavior", "", "How the customer acts"),
    ("beh-night-owl", "Night owl", "behavior", "beh", "Browses late at night"),
    ("beh-bargain", "Bargain hunter", "behavior", "beh", "Waits for discounts"),
    ("beh-loyal", "Loyal customer", "behavior", "beh", "Buys again and again"),
    ("beh-social", "Social sharer", "behavior", "beh", "Shares and comments a lot"),
    ("pref", "Preferences", "preference", "", "What the customer likes"),
    ("pref-vehicles", "Likes vehicles", "preference", "pref", "E-bikes and scooters"),
    ("pref-tech", "Tech lover", "preference", "pref", "Gadgets and electronics"),
    ("pref-outdoor", "Outdoor fan", "preference", "pref", "Camping and running"),
    ("pref-home", "Home maker", "preference", "pref", "Kitchen and decor"),
    ("pref-fashion", "Fashion fan", "preference", "pref", "Shoes and bags"),
    ("pref-beauty", "Beauty fan", "preference", "pref", "Skincare and makeup"),
)
LEAF_TAGS = (2, 7, 8)  # generic tags any user may carry (parent, loyal, social)
NIGHT_TAG, BARGAIN_TAG, FIRST_PREF_TAG = 5, 6, 10  # FIRST_PREF_TAG + top category index
