//! Where the SDK keeps its state: `localStorage`, or memory when storage is unavailable
//! (blocked cookies → SecurityError, quota exceeded, private mode) or not wanted.

use std::collections::HashMap;

pub enum Store {
    Local(web_sys::Storage),
    Memory(HashMap<String, String>),
}

/// Why the store fell back to memory, for the warning hook.
pub struct Fallback(pub String);

impl Store {
    pub fn memory() -> Self {
        Store::Memory(HashMap::new())
    }

    /// `localStorage` if it can be read and written, memory otherwise.
    pub fn local() -> Result<Self, (Self, Fallback)> {
        let storage = match web_sys::window().map(|w| w.local_storage()) {
            Some(Ok(Some(storage))) => storage,
            Some(Ok(None)) | None => return Err((Self::memory(), Fallback("localStorage is not available".into()))),
            Some(Err(e)) => {
                return Err((Self::memory(), Fallback(format!("localStorage is blocked: {}", describe(&e)))))
            }
        };
        // Safari's old private mode and full quotas fail on write, not on access.
        const PROBE: &str = "attune:probe";
        match storage.set_item(PROBE, "1") {
            Ok(()) => {
                let _ = storage.remove_item(PROBE);
                Ok(Store::Local(storage))
            }
            Err(e) => Err((Self::memory(), Fallback(format!("localStorage cannot be written: {}", describe(&e))))),
        }
    }

    pub fn is_memory(&self) -> bool {
        matches!(self, Store::Memory(_))
    }

    pub fn get(&self, key: &str) -> Option<String> {
        match self {
            Store::Local(s) => s.get_item(key).ok().flatten(),
            Store::Memory(m) => m.get(key).cloned(),
        }
    }

    /// Writes `value`; if `localStorage` refuses (quota), keeps it in memory from then on and
    /// says why.
    pub fn set(&mut self, key: &str, value: &str) -> Option<Fallback> {
        if let Store::Local(s) = self {
            match s.set_item(key, value) {
                Ok(()) => return None,
                Err(e) => {
                    let why = Fallback(format!("localStorage write failed: {}", describe(&e)));
                    // Keep what was stored (the consent record above all): an empty memory store
                    // would read as "no consent" and drop the queue on the next read.
                    let mut kept = HashMap::new();
                    for i in 0..s.length().unwrap_or(0) {
                        let Some(k) = s.key(i).ok().flatten().filter(|k| k.starts_with("attune:")) else { continue };
                        if let Some(v) = s.get_item(&k).ok().flatten() {
                            kept.insert(k, v);
                        }
                    }
                    kept.insert(key.to_owned(), value.to_owned());
                    *self = Store::Memory(kept);
                    return Some(why);
                }
            }
        }
        if let Store::Memory(m) = self {
            m.insert(key.to_owned(), value.to_owned());
        }
        None
    }

    /// Every key starting with `prefix`, with its value, sorted by key.
    pub fn entries(&self, prefix: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = match self {
            Store::Local(s) => (0..s.length().unwrap_or(0))
                .filter_map(|i| s.key(i).ok().flatten())
                .filter(|k| k.starts_with(prefix))
                .filter_map(|k| s.get_item(&k).ok().flatten().map(|v| (k, v)))
                .collect(),
            Store::Memory(m) => {
                m.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(k, v)| (k.clone(), v.clone())).collect()
            }
        };
        out.sort();
        out
    }

    pub fn remove(&mut self, key: &str) {
        match self {
            Store::Local(s) => {
                let _ = s.remove_item(key);
            }
            Store::Memory(m) => {
                m.remove(key);
            }
        }
    }
}

fn describe(e: &wasm_bindgen::JsValue) -> String {
    js_sys::Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}
