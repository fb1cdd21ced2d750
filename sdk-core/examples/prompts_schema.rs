//! Prints the prompt config's JSON Schema (`scripts/gen-types.sh` writes it to
//! `js-wrapper/schema/prompts.schema.json`).

fn main() {
    let schema = attune_core::profiling::schema::json_schema();
    println!("{}", serde_json::to_string_pretty(&schema).expect("a JSON value serializes"));
}
