//! Health and server reflection, which need no token.

use tokio_stream::StreamExt;
use tonic_reflection::pb::{v1, v1alpha};

use crate::support::Stack;

#[tokio::test]
async fn health_is_serving_and_reflection_v1_and_v1alpha_list_the_identity_service() {
    let stack = Stack::start().await;
    let channel = stack.identity.channel().await;

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in ["", tillit_identity::SERVICE_NAME] {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health")
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service:?}"
        );
    }

    let mut reflection = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1")
        .into_inner();
    let Some(Ok(answer)) = answers.next().await else {
        panic!("no v1 answer")
    };
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answer.message_response
    else {
        panic!("not a service list")
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == tillit_identity::SERVICE_NAME),
        "{list:?}"
    );

    let mut reflection = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1alpha")
        .into_inner();
    let Some(Ok(answer)) = answers.next().await else {
        panic!("no v1alpha answer")
    };
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answer.message_response
    else {
        panic!("not a service list")
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == tillit_identity::SERVICE_NAME),
        "{list:?}"
    );

    let (status, _) = stack.identity.admin_get("/readyz").await;
    assert!(status.contains("200"), "{status}");
    let (status, _) = stack.identity.admin_get("/livez").await;
    assert!(status.contains("200"), "{status}");
}
