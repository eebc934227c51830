use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = essaim::cli::Cli::parse();
    essaim::cli::init_tracing(cli.verbose);
    match essaim::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("essaim: {error:#}");
            ExitCode::from(essaim::exit_code(&error) as u8)
        }
    }
}
