//! Generated exports in each format the importers read: `n` structures spread over the 13 metropolitan regions
//! (two to four départements each), for the load measure (tests/load.rs) and the import benchmarks. Half the
//! rows are placed by coordinates, half by their commune; a tenth of the FINESS establishments are of another
//! category, and a quarter of its ESAT have no geolocalisation row.

use std::fmt::Write as _;

use essaim_core::territory;

use crate::lambert::LAMBERT_93;

/// Two or three départements of each of the 13 metropolitan regions.
const REGIONS: [&[&str]; 13] = [
    &["69", "42", "38"],
    &["21", "25"],
    &["35", "29", "22", "56"],
    &["45", "37"],
    &["2A", "2B"],
    &["67", "51"],
    &["59", "80"],
    &["75", "93"],
    &["14", "76"],
    &["33", "87"],
    &["31", "34"],
    &["44", "49"],
    &["13", "06"],
];

const KINDS: [&str; 6] = ["EI", "ACI", "AI", "ETTI", "ESAT", "EA"];
const LABELS: [&str; 6] = [
    "Nettoyage de locaux",
    "Création et entretien des espaces verts",
    "Logistique",
    "Blanchisserie",
    "Apiculture",
    "Traiteur",
];

/// A valid SIRET for structure `i` (Luhn key as last digit).
pub fn siret(i: usize) -> String {
    let stem = format!("5{i:08}0001");
    (0..10)
        .map(|d| format!("{stem}{d}"))
        .find(|s| {
            let sum: u32 = s
                .bytes()
                .rev()
                .enumerate()
                .map(|(k, b)| {
                    let d = u32::from(b - b'0');
                    if k % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
                })
                .sum();
            sum.is_multiple_of(10)
        })
        .expect("a key digit")
}

/// The communes structures are placed in: those of the regions' départements that have a position of their
/// own and a postal code, in turn region after region.
pub fn communes(structures: usize) -> Vec<&'static territory::Commune> {
    let by_region: Vec<Vec<&territory::Commune>> = REGIONS
        .iter()
        .map(|deps| {
            territory::communes()
                .iter()
                .filter(|c| deps.contains(&c.departement) && !c.position_is_fallback && c.position.is_some())
                .filter(|c| !c.postal_codes.is_empty() && c.insee.as_bytes()[2..].iter().all(u8::is_ascii_digit))
                .collect()
        })
        .collect();
    (0..structures).map(|i| by_region[i % 13][(i / 13 * 7) % by_region[i % 13].len()]).collect()
}

pub fn marche_csv(communes: &[&territory::Commune]) -> String {
    let mut out = String::from("siret,name,kind,address,post_code,city,department,latitude,longitude,sectors\n");
    for (i, c) in communes.iter().enumerate() {
        let p = c.position.expect("a position");
        let (lat, lon) =
            if i % 2 == 0 { (p.lat.to_string(), p.lon.to_string()) } else { (String::new(), String::new()) };
        let sectors = format!("{}|{}", LABELS[i % 6], LABELS[(i + 1) % 6]);
        let _ = writeln!(
            out,
            "{},Structure {i},{},{i} rue de la Paix,{},\"{}\",{},{lat},{lon},{sectors}",
            siret(i),
            KINDS[i % 6],
            c.postal_codes[0],
            c.name.to_uppercase(),
            c.departement
        );
    }
    out
}

pub fn marche_json(communes: &[&territory::Commune]) -> String {
    let items: Vec<serde_json::Value> = communes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = c.position.expect("a position");
            serde_json::json!({
                "siret": siret(i), "name": format!("Structure {i}"), "kind": KINDS[i % 6],
                "post_code": c.postal_codes[0], "city": c.name, "department": c.departement,
                "latitude": if i % 2 == 0 { Some(p.lat) } else { None },
                "longitude": if i % 2 == 0 { Some(p.lon) } else { None },
                "sectors": [{"name": LABELS[i % 6]}, {"name": LABELS[(i + 1) % 6]}],
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "count": items.len(), "results": items })).expect("json")
}

pub fn data_inclusion_csv(communes: &[&territory::Commune]) -> String {
    let mut out = String::from(
        "id,siret,nom,commune,code_postal,code_insee,adresse,longitude,latitude,typologie,source,date_maj\n",
    );
    for (i, c) in communes.iter().enumerate() {
        let insee = if i % 2 == 0 { c.insee } else { "" };
        let _ = writeln!(
            out,
            "di-{i},{},Structure {i},\"{}\",{},{insee},{i} rue de la Paix,,,{},dora,2025-02-14",
            siret(i),
            c.name,
            c.postal_codes[0],
            KINDS[i % 6]
        );
    }
    out
}

pub fn data_inclusion_json(communes: &[&territory::Commune]) -> String {
    let items: Vec<serde_json::Value> = communes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = c.position.expect("a position");
            serde_json::json!({
                "id": format!("di-{i}"), "siret": siret(i), "nom": format!("Structure {i}"), "commune": c.name,
                "code_postal": c.postal_codes[0], "code_insee": c.insee, "typologie": KINDS[i % 6],
                "latitude": p.lat, "longitude": p.lon, "source": "dora", "date_maj": "2025-02-14",
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).expect("json")
}

pub fn finess_csv(communes: &[&territory::Commune]) -> String {
    let mut out = String::from("finess;etalab;95;2025-01-06\n");
    for (i, c) in communes.iter().enumerate() {
        let (dep, com) = c.insee.split_at(2);
        let category = if i % 10 == 9 { "500" } else { "246" };
        let _ = writeln!(
            out,
            "structureet;{nof};{nof};ESAT {i};;;;{i};R;DE LA PAIX;;;{com};{dep};;{cp} {name};;;{category};;;;{siret};;;;;;;;;",
            nof = format!("{dep}{i:07}"),
            cp = c.postal_codes[0],
            name = c.name.to_uppercase(),
            siret = siret(i)
        );
        let p = c.position.expect("a position");
        let (x, y) = LAMBERT_93.forward(p.lon.to_radians(), p.lat.to_radians());
        if i % 4 != 3 {
            let _ = writeln!(
                out,
                "geolocalisation;{dep}{i:07};{x:.1};{y:.1};1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2025-01-06"
            );
        }
    }
    out
}

/// Every format, named as a file would be: `(name, text)`.
pub fn exports(structures: usize) -> Vec<(&'static str, String)> {
    let communes = communes(structures);
    vec![
        ("marche.csv", marche_csv(&communes)),
        ("marche.json", marche_json(&communes)),
        ("data_inclusion.csv", data_inclusion_csv(&communes)),
        ("data_inclusion.json", data_inclusion_json(&communes)),
        ("finess.csv", finess_csv(&communes)),
    ]
}
