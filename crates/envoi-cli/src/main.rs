//! `envoi`: a curl-compatible command-line HTTP client (being built; see issue 8).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("--version" | "-V") => {
            println!("envoi {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("envoi: transfers are not implemented yet; only --version works");
            // curl's exit code 2: failed to initialize.
            ExitCode::from(2)
        }
    }
}
