//! The Python example client of docs/clients.md against the real services: it
//! authenticates as a service account, registers an asset, reads it back with the
//! consistency token and reports an incident.

use std::process::Command;

use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::Platform;
use tillit_integration_tests::receivers::{venv_python, workspace_root};
use tillit_proto::identity::CreateServiceAccountRequest;
use tillit_proto::incidents::GetIncidentRequest;

#[tokio::test]
async fn the_python_example_client_registers_reads_back_and_reports() {
    let platform = Platform::start().await;
    let admin = platform._identity.admin_token().await;
    let created = platform
        ._identity
        .client()
        .await
        .create_service_account(bearer(
            &admin,
            CreateServiceAccountRequest {
                tenant_id: "internal".into(),
                name: "monitoring-product".into(),
                roles: vec![tillit_proto::identity::Role::SecurityOfficer.into()],
                consistency: None,
            },
        ))
        .await
        .expect("service account")
        .into_inner();
    let python = venv_python();
    let script = workspace_root().join("clients/python/tillit_example.py");
    let output = tokio::task::spawn_blocking({
        let identity = platform._identity.grpc.to_string();
        let assets = platform.assets.grpc.to_string();
        let incidents = platform.incidents.grpc.to_string();
        move || {
            Command::new(python)
                .arg(script)
                .env("TILLIT_IDENTITY", identity)
                .env("TILLIT_ASSETS", assets)
                .env("TILLIT_INCIDENTS", incidents)
                .env("TILLIT_CLIENT_ID", created.client_id)
                .env("TILLIT_CLIENT_SECRET", created.client_secret)
                .env("TILLIT_TENANT", "acme")
                .output()
                .expect("run python")
        }
    })
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert!(answer["asset_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(answer["asset_version"], 1);
    let incident = platform
        .incidents()
        .await
        .get_incident(bearer(
            &platform.officer.0,
            GetIncidentRequest {
                incident_id: answer["incident_id"].as_str().unwrap().into(),
                consistency: None,
            },
        ))
        .await
        .expect("the reported incident exists")
        .into_inner()
        .incident
        .unwrap();
    assert_eq!(incident.reporter, answer["subject"].as_str().unwrap());
    assert!(
        incident
            .description
            .contains(answer["asset_id"].as_str().unwrap())
    );
}
