//! The `loaxa` command line (SPEC §6): see `loaxa::cli`.

fn main() -> std::process::ExitCode {
    loaxa::cli::main()
}
