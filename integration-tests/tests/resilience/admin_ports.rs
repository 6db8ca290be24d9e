//! What an operator's Prometheus and probes see on every service's admin port.

use tillit_integration_tests::platform::Platform;

#[tokio::test]
async fn every_service_serves_its_own_metrics_beside_its_probes() {
    let platform = Platform::start().await;
    let (reporting, _data) = platform.reporting(time::Duration::ZERO).await;
    let services = [
        (&*platform._identity, tillit_identity::SERVICE_NAME),
        (&platform.assets, tillit_assets::SERVICE_NAME),
        (&platform.incidents, tillit_incidents::SERVICE_NAME),
        (&reporting, tillit_reporting::SERVICE_NAME),
    ];
    for (service, name) in services {
        let (status, body) = service.admin_get("/metrics").await;
        assert!(status.contains("200"), "{name}: {status}");
        assert!(
            body.contains(&format!("tillit_build_info{{service=\"{name}\"")),
            "{name} names itself: {body}"
        );
        assert!(body.contains("tillit_ready 1"), "{name} is ready: {body}");
        assert!(
            body.ends_with("# EOF\n"),
            "{name}: a whole exposition: {body}"
        );
        let (status, _) = service.admin_get("/livez").await;
        assert!(status.contains("200"), "{name}: {status}");
    }
    // Identity's own counter is in identity's registry only.
    let (_, identity) = platform._identity.admin_get("/metrics").await;
    assert!(
        identity.contains("tillit_identity_login_unknown_email_total"),
        "{identity}"
    );
    let (_, assets) = platform.assets.admin_get("/metrics").await;
    assert!(!assets.contains("tillit_identity_login"), "{assets}");
}
