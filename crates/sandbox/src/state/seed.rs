//! The sandbox's collections and their deterministic seed data: the same options give
//! the same records on every run, with no randomness.

use serde_json::{Map, Value, json};

use super::collection::{CollectionSpec, Sort};
use crate::clock::rfc3339;

/// 2024-01-01T00:00:00Z: seeded records are created at this instant plus their index.
const SEED_EPOCH: u64 = 1_704_067_200;

pub(crate) static ASSETS: CollectionSpec = CollectionSpec {
    path: "/api/v1/assets",
    noun: "asset",
    sort_fields: &["id", "name", "created_at", "updated_at", "status"],
    default_sort: Sort::asc("created_at"),
    filters: &["status", "family_id"],
    enums: &[("status", &["active", "archived"])],
    search_field: "name",
};

pub(crate) static USERS: CollectionSpec = CollectionSpec {
    path: "/api/v1/users",
    noun: "user",
    sort_fields: &["id", "email", "first_name", "last_name"],
    default_sort: Sort::asc("id"),
    filters: &[],
    enums: &[],
    search_field: "email",
};

pub(crate) static REPORTS: CollectionSpec = CollectionSpec {
    path: "/api/v1/reports",
    noun: "report",
    sort_fields: &["id", "title", "status", "created_at"],
    default_sort: Sort::asc("created_at"),
    filters: &["status", "asset_id"],
    enums: &[("status", &["draft", "submitted", "validated"])],
    search_field: "title",
};

pub(crate) static DOCUMENTS: CollectionSpec = CollectionSpec {
    path: "/api/v1/documents",
    noun: "document",
    sort_fields: &["id", "name", "mime_type", "size"],
    default_sort: Sort::asc("id"),
    filters: &["mime_type"],
    enums: &[],
    search_field: "name",
};

const LOCATIONS: [&str; 6] = [
    "Plant A / Hall 1",
    "Plant A / Hall 2",
    "Plant B / Boiler room",
    "Plant B / Roof",
    "Warehouse / Dock 3",
    "Offshore / Platform 7",
];
const FAMILIES: u64 = 12;

/// A UUID-shaped id that says which collection and which index it belongs to.
pub(crate) fn seeded_id(tag: u16, index: u64) -> String {
    format!("00000000-0000-4000-{tag:04x}-{index:012}")
}

/// The id of seeded asset `index` (1-based).
pub(crate) fn asset_id(index: u64) -> String {
    seeded_id(0x8000, index)
}

/// Assets 1..=n: every 5th archived, created one minute apart from
/// 2024-01-01T00:00:00Z onwards (so that even a million seeded assets predate any asset
/// created later, and the default `created_at` order stays insertion order).
pub(crate) fn assets(n: usize) -> Vec<Map<String, Value>> {
    (1..=n as u64)
        .map(|i| {
            let created = SEED_EPOCH + i * 60;
            object(json!({
                "id": asset_id(i),
                "name": format!("Asset {i:04}"),
                "status": if i % 5 == 0 { "archived" } else { "active" },
                "family_id": seeded_id(0x8100, (i - 1) % FAMILIES + 1),
                "code": format!("AST-{i:06}"),
                "location": LOCATIONS[(i as usize - 1) % LOCATIONS.len()],
                "created_at": rfc3339(created),
                "updated_at": rfc3339(created + (i % 4) * 600),
            }))
        })
        .collect()
}

pub(crate) fn users() -> Vec<Map<String, Value>> {
    const FIRST: [&str; 10] = [
        "Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Gaëlle", "Hugo", "Inès", "Jules",
    ];
    const LAST: [&str; 10] = [
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau",
    ];
    (1..=10u64)
        .map(|i| {
            let k = i as usize - 1;
            object(json!({
                "id": seeded_id(0x8001, i),
                "email": format!("user{i:02}@example.com"),
                "first_name": FIRST[k],
                "last_name": LAST[k],
            }))
        })
        .collect()
}

/// Reports about the first assets (cycling when there are fewer than 30).
pub(crate) fn reports(assets: usize) -> Vec<Map<String, Value>> {
    const STATUSES: [&str; 3] = ["draft", "submitted", "validated"];
    let assets = assets.max(1) as u64;
    (1..=30u64)
        .map(|i| {
            object(json!({
                "id": seeded_id(0x8002, i),
                "asset_id": asset_id((i - 1) % assets + 1),
                "title": format!("Inspection report {i:03}"),
                "status": STATUSES[(i as usize - 1) % STATUSES.len()],
                "created_at": rfc3339(SEED_EPOCH + i * 86_400),
            }))
        })
        .collect()
}

pub(crate) fn documents() -> Vec<Map<String, Value>> {
    const KINDS: [(&str, &str); 4] = [
        ("pdf", "application/pdf"),
        ("jpg", "image/jpeg"),
        ("png", "image/png"),
        ("csv", "text/csv"),
    ];
    (1..=20u64)
        .map(|i| {
            let (ext, mime) = KINDS[(i as usize - 1) % KINDS.len()];
            object(json!({
                "id": seeded_id(0x8003, i),
                "name": format!("document-{i:02}.{ext}"),
                "mime_type": mime,
                "size": 1024 * ((i * 37) % 500 + 1),
            }))
        })
        .collect()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_deterministic() {
        let a = assets(250);
        assert_eq!(a, assets(250));
        assert_eq!(a[0]["id"], "00000000-0000-4000-8000-000000000001");
        assert_eq!(a[0]["name"], "Asset 0001");
        assert_eq!(a[0]["created_at"], "2024-01-01T00:01:00Z");
        assert_eq!(a[0]["updated_at"], "2024-01-01T00:11:00Z");
        assert_eq!(a[4]["status"], "archived");
        assert_eq!(a.iter().filter(|x| x["status"] == "archived").count(), 50);
        assert_eq!(reports(2)[2]["asset_id"], asset_id(1));
        assert_eq!(users().len(), 10);
        assert_eq!(documents().len(), 20);
    }
}
