//! Structures imported from an export that does not know capacities: their capacity is unknown (not zero)
//! until they give one for each sector their source listed, on every backend.

use essaim_core::{Capacities, GeoPoint, Sector, Siret, Supplier, SupplierKind};
use essaim_store::testing::with_each_backend;
use essaim_store::{StoreError, UnknownCapacity};

const A: &str = "73282932000074";
const B: &str = "12345678900015";
const C: &str = "30000000000004";

fn siret(s: &str) -> Siret {
    Siret::parse(s).expect("test SIRET")
}

fn sector(s: &str) -> Sector {
    Sector::parse("sector", s).expect("test sector")
}

fn supplier(s: &str, name: &str, caps: &[(&str, f64)]) -> Supplier {
    let capacities: Capacities = caps.iter().map(|(k, q)| (sector(k), *q)).collect();
    let at = GeoPoint::new(45.76, 4.85).expect("point");
    Supplier::new(siret(s), name, SupplierKind::Ei, at, 40.0, 0.0, capacities, None).expect("test supplier")
}

#[tokio::test]
async fn an_imported_structure_has_unknown_capacity_until_it_gives_each_listed_sector() {
    with_each_backend(|store| async move {
        // C is in the directory before, with its capacity: an export listing it does not make it unknown.
        store.import_directory(&[supplier(C, "Chantier Connu", &[("nettoyage", 50.0)])], &[]).await?;
        let imported = [
            (supplier(A, "Atelier des Pentes", &[]), vec![sector("nettoyage"), sector("espaces_verts")]),
            (supplier(B, "ESAT sans secteur", &[]), vec![]),
            (supplier(C, "Chantier Connu", &[]), vec![sector("btp")]),
        ];
        let summary = store.import_structures(&imported).await?;
        assert_eq!((summary.inserted, summary.updated), (2, 1));
        assert_eq!(
            store.unknown_capacities().await?,
            [
                UnknownCapacity {
                    siret: siret(A),
                    name: "Atelier des Pentes".into(),
                    sectors: vec![sector("espaces_verts"), sector("nettoyage")],
                },
                UnknownCapacity { siret: siret(B), name: "ESAT sans secteur".into(), sectors: vec![] },
            ]
        );
        assert_eq!(store.unknown_capacity(&siret(C)).await?, None, "known before the export");

        // A zero is an answer: the sector is known, at zero.
        store.set_capacity(&siret(A), &sector("nettoyage"), 0.0).await?;
        let a = store.unknown_capacity(&siret(A)).await?.expect("still one sector to give");
        assert_eq!(a.sectors, [sector("espaces_verts")]);
        store.set_capacity(&siret(A), &sector("espaces_verts"), 30.0).await?;
        assert_eq!(store.unknown_capacity(&siret(A)).await?, None, "every listed sector given");
        // With no listed sector, any capacity it gives makes it known.
        store.set_capacity(&siret(B), &sector("logistique"), 10.0).await?;
        assert!(store.unknown_capacities().await?.is_empty());

        // Importing the export again (as `essaim import` does: a known structure keeps its capacities) lists its
        // sectors again but does not make a known structure unknown.
        let mut again = Vec::new();
        for (s, listed) in &imported {
            again.push((store.supplier(&s.siret).await?.expect("imported"), listed.clone()));
        }
        store.import_structures(&again).await?;
        assert!(store.unknown_capacities().await?.is_empty());
        // The directory's own CSV states capacities: a structure it imports is known.
        store.import_structures(&[(supplier("50000000000009", "Nouvelle", &[]), vec![sector("btp")])]).await?;
        assert_eq!(store.unknown_capacities().await?.len(), 1);
        store.import_directory(&[supplier("50000000000009", "Nouvelle", &[("btp", 5.0)])], &[]).await?;
        assert!(store.unknown_capacities().await?.is_empty());
        Ok::<_, StoreError>(())
    })
    .await;
}
