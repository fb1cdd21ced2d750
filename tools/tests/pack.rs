//! `attune-tools pack`: the binary catalogue it writes reads back to the same items, and bad
//! items are reported and left out.

use attune_core::recommend::Catalog;
use std::process::Command;

#[test]
fn pack_writes_a_binary_catalogue_the_core_reads_back() {
    let dir = std::env::temp_dir().join(format!("attune-pack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = r#"{"format": 1, "dim": 2, "items": [
        {"id": "a", "title": "A", "url": "/a", "tags": ["x"], "embedding": [0.6, 0.8], "popularity": 3},
        {"id": "b", "title": "B", "url": "/b", "embedding": [1, 2, 3]},
        {"id": "c", "title": "C", "url": "/c", "available": false, "price": 9.5}
    ]}"#;
    std::fs::write(dir.join("catalog.json"), json).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_attune-tools"))
        .args(["pack", "--catalog"])
        .arg(dir.join("catalog.json"))
        .arg("--out")
        .arg(dir.join("catalog.atcat"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("items[1].embedding"), "{stderr}");
    assert!(stderr.contains("wrote 2 items (1 skipped)"), "{stderr}");

    let bytes = std::fs::read(dir.join("catalog.atcat")).unwrap();
    let (packed, issues) = Catalog::from_binary(&bytes).unwrap();
    let (original, _) = Catalog::from_json(json).unwrap();
    assert!(issues.is_empty());
    assert_eq!(packed.len(), 2);
    for id in ["a", "c"] {
        let (p, o) = (packed.position(id).unwrap(), original.position(id).unwrap());
        assert_eq!(packed.item(p), original.item(o));
        assert_eq!(packed.is_available(p), original.is_available(o));
        assert_eq!(packed.tags_of(p).collect::<Vec<_>>(), original.tags_of(o).collect::<Vec<_>>());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
