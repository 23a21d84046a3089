//! The `apiflow` binary: parses the command line, calls the library, exits with its code.

fn main() {
    std::process::exit(apiflow::cli::main());
}
