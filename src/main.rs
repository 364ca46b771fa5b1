use terraform_provider_restate::{logging, RestateProvider};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A backtrace would be appended to every diagnostic the user sees (tf-provider captures one per
    // diagnostic when RUST_BACKTRACE is set), so turn capture off for this process.
    std::env::remove_var("RUST_BACKTRACE");
    std::env::remove_var("RUST_LIB_BACKTRACE");
    logging::init();
    tf_provider::serve("restate", RestateProvider::default()).await?;
    Ok(())
}
