#!/usr/bin/env python3
"""Independent check of `essaim allocate` (pip install highspy numpy).

Rebuilds the MILP of docs/allocation.md from the input (distance, capacity, eligibility by kind, participation
mode and reservation, exclusions, fixed lots with new lots on top, minimum lots, maximum shares, social
clause, fairness) and solves it with HiGHS; then checks that essaim's output satisfies every constraint,
reports its objective right, and reaches the HiGHS optimum (relative 1e-6) when it says "optimal".
Usage: check_allocation.py INPUT.json OUTPUT.json — prints one line, exits 1 on any failure."""
import json, math, os, sys
from collections import defaultdict
import highspy

R, EPS, REL = 6371.0, 1e-5, 1e-6
IAE = {"EI", "ETTI", "AI", "ACI", "EITI"}
RESERVED_TO = {"insertion": IAE, "handicap": {"ESAT", "EA", "EATT"}}
MAD = {"AI", "ETTI", "EATT", "GEIQ"}  # mise à disposition; every other kind, and no kind, is execution
WEIGHTS = {"per_unit_km": 1.0, "per_lot": 50.0, "per_unit_shortfall": 10000.0,
           "per_clause_hour_shortfall": 1000.0, "per_unit_fairness": 0.0}

def hav(a, b):
    la1, la2 = math.radians(a["lat"]), math.radians(b["lat"])
    dla, dlo = la2 - la1, math.radians(b["lon"] - a["lon"])
    h = math.sin(dla / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlo / 2) ** 2
    return 2 * R * math.asin(min(1.0, math.sqrt(h)))

def eligible(line, sup):
    kind = sup.get("kind")
    modes = line.get("participation")
    if ("mise_a_disposition" if kind in MAD else "execution") not in (["execution"] if modes is None else modes):
        return False
    return line.get("reserved") is None or kind in RESERVED_TO[line["reserved"]]

def rel(a, b):
    return abs(a - b) / max(1.0, abs(b))

def quiet_highs():  # HiGHS prints its banner on stdout when created
    sys.stdout.flush(); saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        return highspy.Highs()
    finally:
        os.dup2(saved, 1); os.close(saved); os.close(null)

inp, out = (json.load(open(p)) for p in sys.argv[1:3])
w = dict(WEIGHTS, **(inp.get("weights") or {}))
a, F, P, Q, phi = (w[k] for k in WEIGHTS)
lines = {l["id"]: l for l in inp["lines"]}; sups = {s["id"]: s for s in inp["suppliers"]}
rho_max = max((s.get("recent_volume") or 0.0 for s in sups.values()), default=0.0)
fair = {i: phi * (s.get("recent_volume") or 0.0) / rho_max if rho_max > 0 else 0.0 for i, s in sups.items()}
rate = {i: s.get("insertion_rate") or 0.0 for i, s in sups.items()}
hours = {i: l["insertion_hours_min"] for i, l in lines.items() if l.get("insertion_hours_min") is not None}
dist = {(l, s): hav(sups[s]["location"], lines[l]["site"]) for l in lines for s in sups}
cap = lambda l, s: sups[s]["capacity"].get(lines[l]["sector"], 0.0)
ub = lambda l, s: min(cap(l, s), (lines[l].get("max_share") or 1.0) * lines[l]["quantity"])  # x + f on a pair
unit_cost = lambda l, s: a * dist[l, s] + fair[s]
fixed = {(f["line"], f["supplier"]): f["quantity"] for f in inp.get("fixed", [])}
excluded = {(e["line"], e["supplier"]) for e in inp.get("excluded", [])}
pairs = [(l, s) for l in lines for s in sups if dist[l, s] <= sups[s]["max_distance_km"] and cap(l, s) > 0
         and eligible(lines[l], sups[s]) and (l, s) not in excluded]
fixed_on = lambda pred: sum(q for p, q in fixed.items() if pred(*p))

# --- the reference MILP: new lots x, y on existing pairs; fixed lots are constants
h = quiet_highs(); h.setOptionValue("output_flag", False)
for opt, v in [("mip_rel_gap", 1e-10), ("mip_abs_gap", 1e-9), ("mip_feasibility_tolerance", 1e-9)]:
    h.setOptionValue(opt, v)
x = {p: h.addVariable(lb=0, obj=unit_cost(*p)) for p in pairs}
for p in pairs:
    y = h.addBinary(obj=F)
    h.addConstr(x[p] <= (ub(*p) - fixed.get(p, 0.0)) * y)
    if sups[p[1]].get("min_lot", 0) > 0:
        h.addConstr(x[p] >= sups[p[1]]["min_lot"] * y)
for l, L in lines.items():
    on_line = [x[p] for p in pairs if p[0] == l]
    h.addConstr(sum(on_line, h.addVariable(lb=0, obj=P)) == L["quantity"] - fixed_on(lambda fl, fs: fl == l))
    if l in hours:
        worked = sum((rate[p[1]] * x[p] for p in pairs if p[0] == l), h.addVariable(lb=0, obj=Q))
        h.addConstr(worked >= hours[l] - sum(rate[fs] * q for (fl, fs), q in fixed.items() if fl == l))
for s, S in sups.items():
    for k, c in S["capacity"].items():
        cols = [x[p] for p in pairs if p[1] == s and lines[p[0]]["sector"] == k]
        if cols:
            h.addConstr(sum(cols[1:], cols[0]) <= c - fixed_on(lambda fl, fs: fs == s and lines[fl]["sector"] == k))
h.run()
errors = []
if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
    errors.append(f"HiGHS: {h.modelStatusToString(h.getModelStatus())}")
ref = h.getInfo().objective_function_value + sum(unit_cost(*p) * q + F for p, q in fixed.items() if q > 0)

# --- essaim's output
if out.get("status") not in ("optimal", "feasible"):
    print(f"{sys.argv[1]}: status {out.get('status')} {out.get('error', '')} -> FAIL"); sys.exit(1)
lots, seen_fixed, new = [], set(), {}
for lot in out["lots"]:
    p, q = (lot["line"], lot["supplier"]), lot["quantity"]
    name = f"lot {p[0]}/{p[1]} ({q})"
    if p not in dist:
        errors.append(f"{name}: unknown line or supplier"); continue
    lots.append((p, q))
    if abs(lot["distance_km"] - dist[p]) > EPS:
        errors.append(f"{name}: distance_km {lot['distance_km']} != {dist[p]:.6f}")
    if lot.get("fixed"):
        if p not in fixed or p in seen_fixed:
            errors.append(f"{name}: flagged fixed but not an input fixed lot (or twice)")
        elif abs(q - fixed[p]) > 1e-6:
            errors.append(f"{name}: fixed lot changed from {fixed[p]}")
        seen_fixed.add(p); continue
    if p not in x:
        errors.append(f"{name}: new lot on a pair that does not exist (distance, capacity, kind, exclusion)")
    if p in new or (p in fixed and p not in seen_fixed):
        errors.append(f"{name}: second new lot, or new lot before the pair's fixed lot")
    if q <= 0 or q < sups[p[1]].get("min_lot", 0) - EPS:
        errors.append(f"{name}: under the min lot {sups[p[1]].get('min_lot', 0)} (or not > 0)")
    if fixed.get(p, 0.0) + q > ub(*p) + EPS:
        errors.append(f"{name}: fixed + new over min(capacity, max_share·quantity) = {ub(*p)}")
    new[p] = q
for p in fixed.keys() - seen_fixed:
    errors.append(f"fixed lot {p[0]}/{p[1]} missing or not flagged fixed")
used = defaultdict(float)
for (l, s), q in lots:
    used[s, lines[l]["sector"]] += q
for (s, k), tot in used.items():
    if tot > sups[s]["capacity"].get(k, 0.0) + EPS:
        errors.append(f"supplier {s} over capacity in {k}: {tot} > {sups[s]['capacity'].get(k, 0.0)}")
short = {e["line"]: e["quantity"] for e in out["shortfall"]}
clause = {e["line"]: e["hours"] for e in out.get("clause_shortfall", [])}
for l in (short.keys() | clause.keys()) - lines.keys():
    errors.append(f"shortfall for unknown line {l}")
for l, L in lines.items():
    covered = sum(q for p, q in lots if p[0] == l)
    if l in short and short[l] <= 0:
        errors.append(f"line {l}: shortfall entry of {short[l]}")
    if abs(covered + short.get(l, 0.0) - L["quantity"]) > EPS:
        errors.append(f"line {l}: lots {covered} + shortfall {short.get(l, 0.0)} != {L['quantity']}")
    missing = max(0.0, hours[l] - sum(rate[p[1]] * q for p, q in lots if p[0] == l)) if l in hours else 0.0
    if l in clause and (missing <= 0 or clause[l] <= 0):
        errors.append(f"line {l}: clause_shortfall entry of {clause[l]} h, missing {missing} (no entry when met)")
    elif abs(clause.get(l, 0.0) - missing) > EPS:
        errors.append(f"line {l}: clause_shortfall {clause.get(l, 0.0)} != {missing}")
obj = (sum(unit_cost(*p) * q + F for p, q in lots) + P * sum(short.values()) + Q * sum(clause.values()))
if rel(out["objective"], obj) > REL:
    errors.append(f"reported objective {out['objective']} != recomputed {obj}")
gap = rel(obj, ref)
if (out["status"] == "optimal" and gap > REL) or obj < ref - REL * max(1.0, abs(ref)):
    errors.append(f"objective {obj} vs HiGHS optimum {ref} (rel {gap:.2e})")
print(f"{sys.argv[1]}: essaim {obj:.6f} HiGHS {ref:.6f} rel {gap:.1e} status {out['status']} "
      f"-> {'OK' if not errors else 'FAIL'}")
for e in errors[:10]:
    print("  ", e)
sys.exit(1 if errors else 0)
