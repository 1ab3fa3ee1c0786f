//! The `jetmem` command line.
fn main() -> anyhow::Result<()> {
    Ok(())
}
