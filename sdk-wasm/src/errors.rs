//! The one place where core errors become JavaScript errors.

use attune_core::config::ConfigError;
use attune_core::{ErrorCode, Warning};
use js_sys::{Array, Object, Reflect};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

thread_local! {
    static ERROR_CLASS: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Lets the wrapper make every error an instance of its `AttuneError` class (a subclass of
/// `Error`), so `err instanceof AttuneError` holds. Without it, errors are plain `Error`s.
#[wasm_bindgen(js_name = setErrorClass)]
pub fn set_error_class(class: js_sys::Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh Error cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// A real `Error` with a stable `code` and, when known, the `field` path of the offending input.
pub fn js_error(code: &str, message: &str, field: Option<&str>) -> JsValue {
    let message = JsValue::from_str(message);
    let error: JsValue = ERROR_CLASS
        .with(|c| c.borrow().as_ref().and_then(|class| Reflect::construct(class, &Array::of1(&message)).ok()))
        .unwrap_or_else(|| js_sys::Error::new(&message.as_string().unwrap_or_default()).into());
    set(&error, "name", &JsValue::from_str("AttuneError"));
    set(&error, "code", &JsValue::from_str(code));
    set(&error, "field", &field.map_or(JsValue::UNDEFINED, JsValue::from_str));
    error
}

pub fn from_core(e: &dyn ErrorCode) -> JsValue {
    js_error(e.code(), &e.to_string(), e.field().as_deref())
}

/// Config errors also carry every problem found, as `issues: [{ path, message }]`.
pub fn from_config(e: &ConfigError) -> JsValue {
    let error = from_core(e);
    let issues = Array::new();
    for issue in e.issues() {
        let entry = Object::new();
        set(&entry, "path", &JsValue::from_str(&issue.path));
        set(&entry, "message", &JsValue::from_str(&issue.message));
        issues.push(&entry);
    }
    set(&error, "issues", &issues);
    error
}

pub fn from_warning(w: &Warning) -> JsValue {
    js_error(&w.code, &w.message, w.field.as_deref())
}
