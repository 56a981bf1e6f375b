"""Synthetic names for the demo study: places for sites, people for transcripts and exports.

Every name here is invented by combining word parts; none belongs to a real CCG or person.
"""

from __future__ import annotations

import random

PLACE_HEADS: tuple[str, ...] = (
    "Ash", "Bram", "Cal", "Dun", "Eld", "Fern", "Glen", "Hart", "Ivy", "Kel", "Lang", "Mar",
    "Nor", "Oak", "Pen", "Quar", "Ros", "Stan", "Thorn", "Ux", "Wel", "Yar", "Brack", "Cren",
    "Hol", "Lyn", "Med", "Sal", "Wick", "Whit",
)
PLACE_TAILS: tuple[str, ...] = (
    "ford", "ley", "ton", "bury", "field", "wick", "mouth", "dale", "ham", "stead", "worth",
    "borough", "minster", "hurst", "combe", "wood",
)
PLACE_QUALIFIERS: tuple[str, ...] = (
    "", "", "", " and District", " Vale", " North", " South", " East", " West", " City",
    " Valley", " Rural", " Central",
)

FEMALE_NAMES: tuple[str, ...] = (
    "Sarah", "Priya", "Helen", "Rachel", "Claire", "Fiona", "Joanne", "Aisha", "Zoë", "Nadia",
    "Bethan", "Lucy", "Mei", "Siobhan", "Emma",
)
MALE_NAMES: tuple[str, ...] = (
    "James", "Tom", "Oluwaseun", "Imran", "David", "Kwame", "Mark", "Peter", "Gareth", "Simon",
    "Rajesh", "Andrew", "Colin", "Hamid", "Neil",
)
FIRST_NAMES: tuple[str, ...] = FEMALE_NAMES + MALE_NAMES
LAST_NAMES: tuple[str, ...] = (
    "Patel", "Okafor", "Barker", "Reilly", "Hughes", "Chaudhry", "Whitlock", "Mensah", "Dawson",
    "Fairbairn", "Kowalski", "Lindqvist", "Marsh", "Nwosu", "Pemberton", "Quinlan", "Rahman",
    "Sutcliffe", "Thackeray", "Venables", "Wainwright", "Yeomans", "Ashdown", "Brennan",
    "Carvalho", "Desai", "Ellery", "Fenwick", "Gallagher", "Hollis",
)
FEMALE_TITLES: tuple[str, ...] = ("Dr", "Dr", "Dr", "Mrs", "Ms")
MALE_TITLES: tuple[str, ...] = ("Dr", "Dr", "Dr", "Mr")


def place_names(count: int, rnd: random.Random) -> list[str]:
    """`count` distinct invented place names (a numeral is added once the combinations run out)."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        base = rnd.choice(PLACE_HEADS) + rnd.choice(PLACE_TAILS) + rnd.choice(PLACE_QUALIFIERS)
        name = base
        k = 2
        while name in seen:
            name = f"{base} {k}"
            k += 1
        seen.add(name)
        names.append(name)
    return names


def person(rnd: random.Random, *, title: bool = True) -> str:
    """An invented person's name, e.g. "Dr Sarah Patel"."""
    female = rnd.random() < 0.5
    first = rnd.choice(FEMALE_NAMES if female else MALE_NAMES)
    name = f"{first} {rnd.choice(LAST_NAMES)}"
    if not title:
        return name
    return f"{rnd.choice(FEMALE_TITLES if female else MALE_TITLES)} {name}"


def cast(count: int, rnd: random.Random) -> list[str]:
    """`count` distinct titled names for the people mentioned in one case's transcripts."""
    out: list[str] = []
    while len(out) < count:
        name = person(rnd)
        surname = name.split()[-1]
        if all(surname != other.split()[-1] for other in out):
            out.append(name)
    return out
