//! E-mail delivery over SMTP (lettre): `smtp://host:port` (plain, for a local relay),
//! `smtp://host?tls=required` (STARTTLS) or `smtps://user:password@host` (TLS).

use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tillit_proto::reporting::ReminderIssued;

/// Sends reminders as e-mail.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    /// A mailer for the SMTP server at `url`, sending as `from`.
    pub fn new(url: &str, from: &str, timeout: std::time::Duration) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("TILLIT_SMTP_URL: {e}"))?
            .timeout(Some(timeout))
            .build();
        let from = from.parse().map_err(|e| format!("TILLIT_SMTP_FROM: {e}"))?;
        Ok(Self { transport, from })
    }

    /// One attempt; answers (accepted, what happened).
    pub async fn send(
        &self,
        issued: &ReminderIssued,
        to: &str,
        delivery_id: &str,
    ) -> (bool, String) {
        let to = match to.parse() {
            Ok(to) => to,
            Err(e) => return (false, format!("bad address: {e}")),
        };
        let message_id = format!("<{}@tillit>", delivery_id.replace([':', '@'], "."));
        let body = format!(
            "{}\n\n{}\n\nKind: {}\nStage: {}\nItem: {} (tenant {})\nReminder: {}\n",
            issued.title,
            issued.detail,
            issued.kind,
            issued.stage,
            issued.item_id,
            issued.item_tenant_id,
            issued.reminder_id
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("[Tillit] {}", issued.title))
            .message_id(Some(message_id))
            .header(ContentType::TEXT_PLAIN)
            .body(body);
        let message = match message {
            Ok(message) => message,
            Err(e) => return (false, format!("building the message: {e}")),
        };
        match self.transport.send(message).await {
            Ok(response) => (
                response.is_positive(),
                format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            ),
            Err(e) => (false, format!("SMTP error: {e}")),
        }
    }
}
