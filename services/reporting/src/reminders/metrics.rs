//! What the reminders tell operators: reminders issued by kind, delivery attempts by
//! channel and outcome, and the legal clock as gauges the alert rules read (pending
//! obligations due within the hour, and overdue).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tillit_kernel::clock::from_timestamp;
use tillit_proto::incidents::{Incident, ObligationStatus};
use time::OffsetDateTime;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    channel: String,
    outcome: &'static str,
}

/// How one delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The receiver accepted it.
    Delivered,
    /// It failed and will be tried again.
    Failed,
    /// It failed for the last time.
    Abandoned,
}

/// The reminder metrics of one reporting service.
#[derive(Clone)]
pub struct ReminderMetrics {
    issued: Family<KindLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    due_within_hour: Gauge,
    overdue: Gauge,
}

impl ReminderMetrics {
    /// Registered in `metrics`.
    pub fn new(metrics: &tillit_runtime::Metrics) -> Self {
        let this = Self {
            issued: Family::default(),
            deliveries: Family::default(),
            due_within_hour: Gauge::default(),
            overdue: Gauge::default(),
        };
        metrics.register(
            "tillit_reminders_issued",
            "Reminders issued, by kind (obligation, action, policy, training, review, ...)",
            this.issued.clone(),
        );
        metrics.register(
            "tillit_reminder_deliveries",
            "Reminder delivery attempts, by channel (webhook, email) and outcome (delivered, failed, abandoned)",
            this.deliveries.clone(),
        );
        metrics.register(
            "tillit_obligations_pending_due_within_hour",
            "Notification obligations still pending whose legal deadline is within the next hour",
            this.due_within_hour.clone(),
        );
        metrics.register(
            "tillit_obligations_pending_overdue",
            "Notification obligations still pending whose legal deadline has passed",
            this.overdue.clone(),
        );
        this
    }

    /// One reminder of `kind` issued.
    pub fn issued(&self, kind: &str) {
        self.issued
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// One delivery attempt over `channel` ended as `outcome`.
    pub fn delivery(&self, channel: &str, outcome: Delivery) {
        let outcome = match outcome {
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
            Delivery::Abandoned => "abandoned",
        };
        self.deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.to_owned(),
                outcome,
            })
            .inc();
    }

    /// Sets the legal-clock gauges from the incidents as they stand at `now`.
    pub fn obligations(&self, incidents: &[Incident], now: OffsetDateTime) {
        let (within_hour, overdue) = obligation_clock(incidents, now);
        self.due_within_hour.set(within_hour);
        self.overdue.set(overdue);
    }
}

/// (pending obligations due within the next hour, pending obligations past due) at `now`.
pub fn obligation_clock(incidents: &[Incident], now: OffsetDateTime) -> (i64, i64) {
    let mut counts = (0, 0);
    let pending = incidents
        .iter()
        .flat_map(|incident| &incident.obligations)
        .filter(|o| o.status() == ObligationStatus::Pending);
    for due in pending.filter_map(|o| o.due_at.as_ref().and_then(from_timestamp)) {
        if due <= now {
            counts.1 += 1;
        } else if due - now <= time::Duration::HOUR {
            counts.0 += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use tillit_kernel::clock::to_timestamp;
    use tillit_proto::incidents::Obligation;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn only_pending_obligations_count_on_the_clock() {
        let now = datetime!(2026-12-06 03:00 UTC);
        let obligation = |minutes: i64, status: ObligationStatus| Obligation {
            due_at: Some(to_timestamp(now + time::Duration::minutes(minutes))),
            status: status as i32,
            ..Default::default()
        };
        let incident = Incident {
            obligations: vec![
                obligation(30, ObligationStatus::Pending),
                obligation(60, ObligationStatus::Pending),
                obligation(61, ObligationStatus::Pending),
                obligation(-5, ObligationStatus::Pending),
                obligation(10, ObligationStatus::Met),
                obligation(-10, ObligationStatus::Waived),
            ],
            ..Default::default()
        };
        assert_eq!(obligation_clock(&[incident], now), (2, 1));
    }
}
