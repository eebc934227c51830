use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = essaim::cli::Cli::parse();
    // The flag (or ESSAIM_LOG_FORMAT), else the configuration; a configuration that does not load is
    // reported by the command itself, in the format it would have chosen by default.
    let log_format = cli.log_format.unwrap_or_else(|| {
        essaim::config::Config::load(cli.global.config.as_deref()).map(|c| c.log.format).unwrap_or_default()
    });
    essaim::cli::init_tracing(cli.verbose, log_format);
    match essaim::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("essaim: {error:#}");
            ExitCode::from(essaim::exit_code(&error) as u8)
        }
    }
}
