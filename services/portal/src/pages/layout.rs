//! The frame of every page: language, the header with what the user may open, the
//! stylesheet by its content hash.

use maud::{DOCTYPE, Markup, html};

use crate::i18n::Lang;

/// Who is signed in, as the header shows them.
pub struct Viewer {
    /// The user's id (`sub`).
    pub subject: String,
    /// Display name.
    pub name: String,
    /// The CSRF token of every form on the page.
    pub csrf: String,
    /// What the user's roles allow (the one table of `tillit-auth`).
    pub roles: Vec<tillit_auth::Role>,
}

impl Viewer {
    /// Whether any of the user's roles allows `permission`.
    pub fn may(&self, permission: tillit_auth::Permission) -> bool {
        self.roles
            .iter()
            .any(|role| role.permissions().contains(&permission))
    }

    /// Whether the user may report something.
    pub fn may_report(&self) -> bool {
        use tillit_auth::Permission::*;
        [ReportDeviation, ReportIncident, ManageIncidents]
            .into_iter()
            .any(|p| self.may(p))
    }

    /// Whether the user may see a list of assets.
    pub fn may_list_assets(&self) -> bool {
        use tillit_auth::Permission::*;
        [
            ManageAssets,
            ReadEverything,
            ReadReports,
            RegisterAssets,
            ManageOwnAssets,
            ReadOwnTenantAssets,
        ]
        .into_iter()
        .any(|p| self.may(p))
    }

    /// Whether the user may read the consultancy's policies (staff, not customers).
    pub fn may_read_policies(&self) -> bool {
        !self.roles.is_empty() && !self.roles.contains(&tillit_auth::Role::Customer)
    }

    /// Whether the user may read annual reports and their sign-offs (the reporting
    /// service's readers).
    pub fn may_read_reports(&self) -> bool {
        use tillit_auth::Permission::*;
        [ReadReports, ReadEverything, ManageManagementReview]
            .into_iter()
            .any(|p| self.may(p))
    }

    /// Whether the user may see the trainings and their gaps.
    pub fn may_read_trainings(&self) -> bool {
        use tillit_auth::Permission::*;
        [RecordTrainings, ReadReports, ReadEverything]
            .into_iter()
            .any(|p| self.may(p))
    }

    /// Whether the user may see the access-review campaigns.
    pub fn may_read_access_reviews(&self) -> bool {
        use tillit_auth::Permission::*;
        self.may(RunAccessReviews) || self.may(ReadEverything)
    }

    /// The first administration page the user may open, if any.
    pub fn administration(&self) -> Option<&'static str> {
        use tillit_auth::Permission::*;
        [
            (ManageUsers, "/admin/users"),
            (ManageTenants, "/admin/tenants"),
            (ManageServiceAccounts, "/admin/service-accounts"),
        ]
        .into_iter()
        .find(|(p, _)| self.may(*p))
        .map(|(_, path)| path)
    }

    /// Whether the user asks for or approves erasures of personal data.
    pub fn may_handle_erasures(&self) -> bool {
        use tillit_auth::Permission::*;
        self.may(RequestErasure) || self.may(ApproveErasure)
    }

    /// Whether the user may read records of processing (the assets service decides whose:
    /// staff every tenant's, a customer its own).
    pub fn may_read_records(&self) -> bool {
        use tillit_auth::Permission::*;
        [
            ReadEverything,
            ManageAssets,
            ReadReports,
            ReadOwnTenantAssets,
        ]
        .into_iter()
        .any(|p| self.may(p))
    }

    /// Whether the user may see a list of incidents.
    pub fn may_list_incidents(&self) -> bool {
        use tillit_auth::Permission::*;
        [
            ManageIncidents,
            ReadEverything,
            ReadReports,
            ReadOwnReportedIncidents,
            ReadAffectingIncidents,
        ]
        .into_iter()
        .any(|p| self.may(p))
    }
}

/// What every page is drawn with.
pub struct Frame<'a> {
    /// The page's language.
    pub lang: Lang,
    /// The signed-in user, if any.
    pub viewer: Option<&'a Viewer>,
    /// The path of this page, for the language switch to come back to.
    pub path: &'a str,
}

/// A whole page.
pub fn page(frame: &Frame<'_>, title: &str, body: Markup) -> Markup {
    let lang = frame.lang;
    let other = lang.other();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("app-name")) }
                link rel="stylesheet" href=(crate::web::stylesheet_path());
                script src=(crate::web::script_path()) defer {}
            }
            body {
                a.skip href="#main" { (lang.t("skip-to-content")) }
                header.top {
                    a.brand href="/" { (lang.t("app-name")) }
                    @if let Some(viewer) = frame.viewer {
                        nav aria-label=(lang.t("nav-main")) {
                            ul {
                                li { a href="/" { (lang.t("nav-home")) } }
                                @if viewer.may_report() {
                                    li { a href="/report" { (lang.t("nav-report")) } }
                                }
                                @if viewer.may_list_incidents() {
                                    li { a href="/incidents" { (lang.t("nav-incidents")) } }
                                }
                                @if viewer.may_list_assets() {
                                    li { a href="/assets" { (lang.t("nav-assets")) } }
                                }
                                @if viewer.may_read_records() {
                                    li { a href="/records" { (lang.t("nav-records")) } }
                                }
                                @if viewer.may_read_policies() {
                                    li { a href="/policies" { (lang.t("nav-policies")) } }
                                }
                                @if viewer.may_read_trainings() {
                                    li { a href="/trainings" { (lang.t("nav-trainings")) } }
                                }
                                @if viewer.may_read_access_reviews() {
                                    li { a href="/access-reviews" { (lang.t("nav-access-reviews")) } }
                                }
                                @if viewer.may_read_reports() {
                                    li { a href="/review" { (lang.t("nav-review")) } }
                                }
                                @if viewer.may(tillit_auth::Permission::ReadAuditTrail) {
                                    li { a href="/audit" { (lang.t("nav-audit")) } }
                                }
                                @if viewer.may_handle_erasures() {
                                    li { a href="/erasure" { (lang.t("nav-erasure")) } }
                                }
                                @if let Some(path) = viewer.administration() {
                                    li { a href=(path) { (lang.t("nav-admin")) } }
                                }
                            }
                        }
                    }
                    div.who {
                        a href={ "/lang/" (other.code()) "?next=" (frame.path) } lang=(other.code()) {
                            (lang.t("nav-language"))
                        }
                        @if let Some(viewer) = frame.viewer {
                            span { (lang.t_with("signed-in-as", &[("name", crate::i18n::text(viewer.name.clone()))])) }
                            a href="/my-data" { (lang.t("nav-my-data")) }
                            form method="post" action="/signout" {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                button type="submit" { (lang.t("nav-sign-out")) }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}
