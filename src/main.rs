use std::process::ExitCode;

fn main() -> ExitCode {
    genesis::cli::main()
}
