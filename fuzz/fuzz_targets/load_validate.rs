//! Loads and validates arbitrary bytes as a workflow file, then renders every diagnostic: no
//! input may panic, hang or exhaust memory.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > apiflow::format::yaml::MAX_FILE_SIZE {
        return;
    }
    let diagnostics = match apiflow::format::yaml::decode("fuzz.yaml", data.to_vec()) {
        Ok(text) => match apiflow::check_source(&apiflow::Source::new("fuzz.yaml", text)) {
            Ok(plan) => {
                // A valid plan can be planned without inputs.
                let inputs = apiflow::check::inputs::resolve_lenient(
                    &plan,
                    &apiflow::check::inputs::InputSources::default(),
                    &|_| None,
                );
                let _ = apiflow::report::plan::render(&plan, inputs);
                return;
            }
            Err(diagnostics) => diagnostics,
        },
        Err(diagnostic) => vec![diagnostic],
    };
    for diagnostic in diagnostics {
        let _ = diagnostic.render(false);
        let _ = diagnostic.render(true);
    }
});
