#!/usr/bin/env python3
"""Random allocation instances (the input of `essaim allocate`) for check_random_allocations.sh.

Every rule of docs/allocation.md shows up: supplier kinds of all ten codes and some without kind, reserved lines
(handicap, insertion), participation modes, social clauses (some out of reach), insertion rates, recent
volumes with a fairness weight, fixed lots (some also excluded, some out of reach or ineligible), excluded
pairs, minimum lots, maximum shares. Small enough (3–25 suppliers, 1–8 lines, 1–3 sectors) for the exact
solver to prove its optimum in seconds. Deterministic for a seed.
--base: only what the original model knows (no new field, execution kinds, no fixed lot, default
participation), to test against an older essaim.
Usage: random_instances.py --count N --seed S --out DIR [--base]"""
import argparse, json, math, os, random

CITIES = [(45.764, 4.8357), (45.1885, 5.7245), (45.4397, 4.3872), (48.8566, 2.3522), (50.6292, 3.0573),
          (43.2965, 5.3698), (43.6047, 1.4442), (47.2184, -1.5536), (44.8378, -0.5792), (48.5734, 7.7521)]
SECTORS = ["nettoyage", "espaces_verts", "logistique", "conditionnement", "restauration", "dechets"]
KINDS = ["EI", "ETTI", "AI", "ACI", "EITI", "GEIQ", "ESAT", "EA", "EATT", "TIH"]
BASE_KINDS = ["EI", "ACI", "EITI", "ESAT", "EA"]  # execution kinds: eligible for an unreserved line

def near(rng, city, km):
    r, t = km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    lat = city[0] + r * math.cos(t) / 111.2
    lon = city[1] + r * math.sin(t) / (111.2 * math.cos(math.radians(city[0])))
    return {"lat": round(lat, 4), "lon": round(lon, 4)}

def km(a, b):
    la1, la2, dlo = math.radians(a["lat"]), math.radians(b["lat"]), math.radians(b["lon"] - a["lon"])
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlo / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))

def maybe(rng, p, value):
    return value if rng.random() < p else None

def instance(rng, base):
    cities = rng.sample(CITIES, rng.choice([1, 1, 1, 2]))
    sectors = rng.sample(SECTORS, rng.randint(1, 3))
    suppliers, lines = [], []
    with_volume = not base and rng.random() < 0.7
    for i in range(rng.randint(3, 25)):
        kind = rng.choice((BASE_KINDS if base else KINDS) + [None])
        capacity = {k: float(rng.choice([0, rng.randint(50, 800), rng.randint(50, 800), rng.randint(10, 300) + 0.5]))
                    for k in sectors if rng.random() < 0.8} or {rng.choice(sectors): float(rng.randint(10, 300))}
        if rng.random() < 0.1:
            capacity["textile"] = 100.0  # a sector no line uses
        s = {"id": f"S{i + 1}", "name": f"Structure {i + 1}", "kind": kind,
             "location": near(rng, rng.choice(cities), rng.uniform(5, 40)),
             "max_distance_km": float(rng.randint(10, 60)),
             "min_lot": rng.choice([None, None, 0.0, 5.0, 10.0, 20.0, 30.0, 50.0, round(rng.uniform(1, 40), 1)]),
             "capacity": capacity}
        if not base:
            # A kind without a rate would get the configuration's default for it: always give one.
            iae = kind in ("EI", "ETTI", "AI", "ACI", "EITI")
            rate = rng.choice([round(rng.uniform(0.3, 1.0), 2), 1.0]) if iae else rng.choice([0.0, round(rng.uniform(0, 0.4), 2)])
            s["insertion_rate"] = rate if kind or rng.random() < 0.5 else None
            s["recent_volume"] = maybe(rng, 0.8, rng.choice([0.0, float(rng.randint(1, 3000))])) if with_volume else None
        suppliers.append({k: v for k, v in s.items() if v is not None})
    for i in range(rng.randint(1, 8)):
        q = 0.0 if rng.random() < 0.03 else rng.randint(10, 500) / rng.choice([1, 1, 2])
        l = {"id": f"L{i + 1}", "sector": rng.choice(sectors), "quantity": q, "unit": "h",
             "site": near(rng, rng.choice(cities), rng.uniform(0, 25)),
             "max_share": maybe(rng, 0.5, rng.choice([0.3, 0.4, 0.5, 0.6, 0.75, 1.0]))}
        if not base:
            l["participation"] = rng.choice([None, None, None, ["execution"], ["mise_a_disposition"],
                                             ["execution", "mise_a_disposition"], ["mise_a_disposition", "execution"]])
            l["reserved"] = rng.choice([None] * 6 + ["handicap", "insertion", "insertion"])
            l["insertion_hours_min"] = maybe(rng, 0.5, rng.choice([0.0, q, round(q * rng.uniform(0.05, 0.7), 1), round(q * rng.uniform(0.05, 0.7), 1)]))
        lines.append({k: v for k, v in l.items() if v is not None})
    weights = {"per_unit_km": round(rng.uniform(0.5, 2.0), 2), "per_lot": rng.choice([0.0, 20.0, 50.0, 100.0]),
               "per_unit_shortfall": rng.choice([500.0, 5000.0, 10000.0])}
    if not base:
        weights["per_clause_hour_shortfall"] = rng.choice([100.0, 1000.0, 3000.0])
        weights["per_unit_fairness"] = rng.choice([0.0, 0.5, 2.0, 10.0])
    weights = {k: v for k, v in weights.items() if rng.random() < 0.8}  # missing ones take their default
    out = {"lines": lines, "suppliers": suppliers, "weights": weights}

    all_pairs = [(l["id"], s["id"]) for l in lines for s in suppliers]
    excluded = rng.sample(all_pairs, min(len(all_pairs), rng.choice([0, 0, 1, 2, 4])))
    if not base and rng.random() < 0.6:
        # Fixed lots on pairs with capacity, whatever the distance or the kind: per line ≤ quantity, per
        # supplier and sector ≤ capacity; some of them also excluded.
        left_line = {l["id"]: l["quantity"] for l in lines}
        left_cap = {(s["id"], k): c for s in suppliers for k, c in s["capacity"].items()}
        sector = {l["id"]: l["sector"] for l in lines}
        fixed = []
        by_id = {x["id"]: x for x in lines + suppliers}
        in_reach = [(l, s) for l, s in all_pairs if km(by_id[l]["site"], by_id[s]["location"]) <= by_id[s]["max_distance_km"]]
        for _ in range(rng.randint(1, 5)):
            l, s = rng.choice(in_reach if in_reach and rng.random() < 0.6 else all_pairs)
            room = min(left_line[l], left_cap.get((s, sector[l]), 0.0))
            if room < 1 or any(f["line"] == l and f["supplier"] == s for f in fixed):
                continue
            f = round(rng.uniform(1, min(room, rng.choice([20, 60, 120]))), 1)
            left_line[l] -= f; left_cap[s, sector[l]] -= f
            fixed.append({"line": l, "supplier": s, "quantity": f})
            if rng.random() < 0.2:
                excluded.append((l, s))
        if fixed:
            out["fixed"] = fixed
    if excluded:
        out["excluded"] = [{"line": l, "supplier": s} for l, s in dict.fromkeys(excluded)]
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--base", action="store_true", help="only the fields of the original model")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for i in range(args.count):
        rng = random.Random(f"essaim-{args.seed}-{i}")
        with open(os.path.join(args.out, f"instance-{i:03d}.json"), "w") as f:
            json.dump(instance(rng, args.base), f, indent=1)
            f.write("\n")

if __name__ == "__main__":
    main()
