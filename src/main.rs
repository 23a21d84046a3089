//! The `apiflow` binary: parses the command line, calls the library, exits with its code.

mod arazzo;
mod cli;
mod collection;
mod report_cmd;

fn main() {
    std::process::exit(cli::main());
}
