//! The environment's supporting services: a Maven repository (Debian's, served over HTTP) and an
//! image registry (Debian's `docker-registry`, with htpasswd auth).

pub mod maven_repo;
pub mod registry;

/// Polls `check` until it returns true or `deadline` passes; used to wait for services to answer.
pub async fn wait_until<F, Fut>(deadline: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + deadline;
    let mut interval = std::time::Duration::from_millis(20);
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(std::time::Duration::from_millis(250));
    }
}
