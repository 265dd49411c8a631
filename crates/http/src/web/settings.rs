//! `/settings`: profile, picture, password, deleting the account.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use maecenas_services::ServiceError;
use maecenas_services::records::UserRow;
use maecenas_services::sponsus::ProfileUpdate;
use maud::{Markup, html};
use serde::Deserialize;

use super::guard::{SignedForm, SignedIn};
use super::kit::{field_error, form_error};
use super::layout::{Viewer, wide_page};
use super::session::{self};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    about: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    youtube: String,
    #[serde(default)]
    twitter: String,
    #[serde(default)]
    facebook: String,
}

impl ProfileForm {
    fn of(user: &UserRow) -> Self {
        Self {
            username: user.username.clone().unwrap_or_default(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            about: user.about.clone(),
            description: user.description.clone(),
            status: user.status.clone(),
            youtube: user.youtube.clone().unwrap_or_default(),
            twitter: user.twitter.clone().unwrap_or_default(),
            facebook: user.facebook.clone().unwrap_or_default(),
        }
    }
}

/// Which card a refusal belongs to.
enum Failed<'a> {
    Profile(&'a ServiceError),
    Avatar(&'a ServiceError),
    Password(&'a ServiceError),
    Delete(&'a ServiceError),
    Creator(&'a ServiceError),
}

pub async fn show(SignedIn { user, csrf }: SignedIn) -> Response {
    let form = ProfileForm::of(&user);
    render(&user, &csrf, &form, None, None, StatusCode::OK)
}

fn render(
    user: &UserRow,
    csrf: &str,
    form: &ProfileForm,
    failed: Option<Failed<'_>>,
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    let profile_error = match &failed {
        Some(Failed::Profile(e)) => Some(*e),
        _ => None,
    };
    let avatar_error = match &failed {
        Some(Failed::Avatar(e)) => Some(*e),
        _ => None,
    };
    let password_error = match &failed {
        Some(Failed::Password(e)) => Some(*e),
        _ => None,
    };
    let delete_error = match &failed {
        Some(Failed::Delete(e)) => Some(*e),
        _ => None,
    };
    let creator_error = match &failed {
        Some(Failed::Creator(e)) => Some(*e),
        _ => None,
    };
    let profile_fields = [
        "username",
        "first_name",
        "last_name",
        "about",
        "description",
        "status",
        "youtube",
        "twitter",
        "facebook",
    ];
    let viewer = Viewer { user, csrf };
    let body = html! {
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        section.card {
            h1 { "Profile" }
            (form_error(profile_error, &profile_fields))
            form method="post" action="/settings/profile" {
                input type="hidden" name="csrf" value=(csrf);
                (text_input("username", "Username", &form.username, profile_error))
                p.muted { "Your public page: /" (form.username) }
                (text_input("first_name", "First name", &form.first_name, profile_error))
                (text_input("last_name", "Last name", &form.last_name, profile_error))
                label for="description" { "Short description" }
                input id="description" name="description" value=(form.description) maxlength="500";
                (field_error(profile_error, "description"))
                label for="about" { "About you (Markdown)" }
                textarea id="about" name="about" { (form.about) }
                (field_error(profile_error, "about"))
                label for="status" { "Profile visibility" }
                select id="status" name="status" {
                    option value="public" selected[form.status == "public"] { "Public: anyone can see my profile and page" }
                    option value="hidden" selected[form.status == "hidden"] { "Hidden: my profile and page are not shown" }
                }
                (field_error(profile_error, "status"))
                (text_input("youtube", "YouTube (https://…)", &form.youtube, profile_error))
                (text_input("twitter", "Twitter (https://…)", &form.twitter, profile_error))
                (text_input("facebook", "Facebook (https://…)", &form.facebook, profile_error))
                button type="submit" { "Save profile" }
            }
        }
        section.card {
            h2 { "Picture" }
            img.avatar src=(super::avatars::url(user.id)) alt="Your current picture";
            form method="post" action="/settings/avatar" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(csrf);
                label for="avatar" { "New picture (PNG, JPEG or WebP, at most 1 MiB)" }
                input id="avatar" name="avatar" type="file" accept="image/png,image/jpeg,image/webp" required;
                (field_error(avatar_error, "avatar"))
                (form_error(avatar_error, &["avatar"]))
                button type="submit" { "Upload picture" }
            }
        }
        @if !user.is_creator {
            section.card #creator {
                h2 { "Become a creator" }
                p { "Publish a page with tiers and posts that patrons sponsor. Your account stays as it is: what you sponsor, your history and your log-in." }
                (form_error(creator_error, &[]))
                form method="post" action="/settings/creator" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "Become a creator" }
                }
            }
        }
        section.card #email {
            h2 { "E-mail" }
            p { (user.email) " "
                @if user.email_verified_at.is_some() { span.badge.good { "verified" } }
                @else { span.badge.bad { "not verified" } } }
            p { a href="/settings/email" { "E-mail settings" } ": verify your address, and choose which messages you get." }
        }
        section.card {
            h2 { "Apps" }
            p { a href="/settings/apps" { "Apps you authorized" } ": see what each may do, and revoke its access." }
        }
        section.card {
            h2 { "Password" }
            form method="post" action="/settings/password" {
                input type="hidden" name="csrf" value=(csrf);
                label for="current_password" { "Current password" }
                input id="current_password" name="current_password" type="password" autocomplete="current-password" required;
                (field_error(password_error, "current_password"))
                label for="new_password" { "New password" }
                input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="8";
                (field_error(password_error, "password"))
                (form_error(password_error, &["current_password", "password"]))
                p.muted { "Changing it logs you out everywhere else." }
                button type="submit" { "Change password" }
            }
        }
        section.card {
            h2 { "Your data" }
            p {
                "One file with everything Maecenas holds about you: your profile, pledges, payments, gifts, "
                "addresses, cards (brand and last four digits only), the apps you authorized and the e-mails we sent you. "
                "It is JSON, which other services and spreadsheets can read."
            }
            p { a.button href="/settings/data" download { "Download my data" } }
        }
        section.card {
            h2 { "Delete account" }
            p { "What you already paid for stays yours until the month ends. "
                (maecenas_services::archive::KEPT_AFTER_DELETION) }
            form method="post" action="/settings/delete" {
                input type="hidden" name="csrf" value=(csrf);
                label for="delete_password" { "Your password, to confirm" }
                input id="delete_password" name="password" type="password" autocomplete="current-password" required;
                (field_error(delete_error, "password"))
                (form_error(delete_error, &["password"]))
                button.danger type="submit" { "Delete my account" }
            }
        }
    };
    (status, wide_page(Some(&viewer), "Settings", body)).into_response()
}

fn text_input(
    name: &'static str,
    label: &str,
    value: &str,
    error: Option<&ServiceError>,
) -> Markup {
    html! {
        label for=(name) { (label) }
        input id=(name) name=(name) value=(value);
        (field_error(error, name))
    }
}

fn status_of(err: &ServiceError) -> StatusCode {
    match err {
        ServiceError::Invalid { .. } | ServiceError::Conflict(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub async fn save_profile(
    State(state): State<AppState>,
    SignedForm {
        who: SignedIn { user, csrf },
        form,
    }: SignedForm<ProfileForm>,
) -> Response {
    let update = ProfileUpdate {
        username: Some(form.username.clone()),
        about: Some(form.about.clone()),
        description: Some(form.description.trim().to_owned()),
        status: Some(form.status.clone()),
        first_name: Some(form.first_name.trim().to_owned()),
        last_name: Some(form.last_name.trim().to_owned()),
        youtube: Some(form.youtube.clone()),
        twitter: Some(form.twitter.clone()),
        facebook: Some(form.facebook.clone()),
    };
    match state.services.update_own_profile(user.id, update).await {
        Ok(updated) => render(
            &updated,
            &csrf,
            &ProfileForm::of(&updated),
            None,
            Some("Profile saved."),
            StatusCode::OK,
        ),
        Err(err) => {
            let err = match err {
                ServiceError::Conflict(m) => ServiceError::invalid("username", m),
                other => other,
            };
            render(
                &user,
                &csrf,
                &form,
                Some(Failed::Profile(&err)),
                None,
                status_of(&err),
            )
        }
    }
}

pub async fn upload_avatar(
    State(state): State<AppState>,
    signed: SignedIn,
    mut multipart: Multipart,
) -> Response {
    let SignedIn { user, csrf } = &signed;
    let mut presented = String::new();
    let mut picture = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => presented = field.text().await.unwrap_or_default(),
                Some("avatar") => match field.bytes().await {
                    Ok(bytes) => picture = Some(bytes.to_vec()),
                    Err(e) => {
                        let err = ServiceError::invalid("avatar", e.body_text());
                        return render(
                            user,
                            csrf,
                            &ProfileForm::of(user),
                            Some(Failed::Avatar(&err)),
                            None,
                            e.status(),
                        );
                    }
                },
                _ => {}
            },
            Ok(None) => break,
            Err(e) => {
                let err = ServiceError::invalid("avatar", e.body_text());
                return render(
                    user,
                    csrf,
                    &ProfileForm::of(user),
                    Some(Failed::Avatar(&err)),
                    None,
                    e.status(),
                );
            }
        }
    }
    if let Some(refused) = signed.refuse_forged(&presented) {
        return refused;
    }
    let Some(picture) = picture.filter(|p| !p.is_empty()) else {
        let err = ServiceError::invalid("avatar", "choose a picture to upload");
        return render(
            user,
            csrf,
            &ProfileForm::of(user),
            Some(Failed::Avatar(&err)),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    match state.services.set_own_avatar(user.id, picture).await {
        Ok(_) => render(
            user,
            csrf,
            &ProfileForm::of(user),
            None,
            Some("Picture saved."),
            StatusCode::OK,
        ),
        Err(err) => render(
            user,
            csrf,
            &ProfileForm::of(user),
            Some(Failed::Avatar(&err)),
            None,
            status_of(&err),
        ),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}
maecenas_domain::debug_showing!(PasswordForm {});

pub async fn change_password(
    State(state): State<AppState>,
    jar: CookieJar,
    SignedForm {
        who: SignedIn { user, csrf },
        form,
    }: SignedForm<PasswordForm>,
) -> Response {
    // A new session id for the person who changed it: any stolen one is now worthless.
    let fresh = match maecenas_services::secrets::mint(maecenas_services::sessions::SESSION_PREFIX)
    {
        Ok(fresh) => fresh.plaintext,
        Err(err) => {
            return render(
                &user,
                &csrf,
                &ProfileForm::of(&user),
                Some(Failed::Password(&err)),
                None,
                status_of(&err),
            );
        }
    };
    match state
        .services
        .change_password(user.id, &form.current_password, &form.new_password, &fresh)
        .await
    {
        Ok(()) => {
            let csrf = session::csrf_for_session(&fresh);
            let jar = jar.add(session::session_cookie(fresh, state.secure_cookies));
            (
                jar,
                render(
                    &user,
                    &csrf,
                    &ProfileForm::of(&user),
                    None,
                    Some("Password changed. Other sessions were logged out."),
                    StatusCode::OK,
                ),
            )
                .into_response()
        }
        Err(err) => render(
            &user,
            &csrf,
            &ProfileForm::of(&user),
            Some(Failed::Password(&err)),
            None,
            status_of(&err),
        ),
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    password: String,
}
maecenas_domain::debug_showing!(DeleteForm {});

/// `POST /settings/creator`: a patron's account becomes a creator's, and
/// goes on to set up its campaign.
pub async fn become_creator(
    State(state): State<AppState>,
    SignedForm {
        who: SignedIn { user, csrf },
        form: _,
    }: SignedForm<super::guard::Button>,
) -> Response {
    match state.services.become_creator(user.id).await {
        Ok(_) => crate::redirect::see_other("/dashboard/campaign"),
        Err(err) => render(
            &user,
            &csrf,
            &ProfileForm::of(&user),
            Some(Failed::Creator(&err)),
            None,
            status_of(&err),
        ),
    }
}

pub async fn delete_account(
    State(state): State<AppState>,
    jar: CookieJar,
    SignedForm {
        who: SignedIn { user, csrf },
        form,
    }: SignedForm<DeleteForm>,
) -> Response {
    match state
        .services
        .delete_own_account(user.id, &form.password)
        .await
    {
        Ok(()) => (
            jar.remove(session::SESSION_COOKIE),
            Redirect::to("/?deleted=1"),
        )
            .into_response(),
        Err(err) => render(
            &user,
            &csrf,
            &ProfileForm::of(&user),
            Some(Failed::Delete(&err)),
            None,
            status_of(&err),
        ),
    }
}

/// `GET /settings/data`: the person's data archive as a JSON file
/// ([`maecenas_services::archive`]); never cached, it is personal.
pub async fn download_data(State(state): State<AppState>, signed: SignedIn) -> Response {
    use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
    let archive = match state.services.data_archive(signed.user.id).await {
        Ok(archive) => archive,
        Err(err) => return signed.refusal(err),
    };
    let Ok(body) = serde_json::to_vec_pretty(&archive) else {
        return signed.refusal(ServiceError::Internal(anyhow::anyhow!(
            "the archive could not be written"
        )));
    };
    let file = format!(
        "attachment; filename=\"maecenas-data-{}.json\"",
        archive.generated_at.date()
    );
    (
        [
            (CONTENT_TYPE, "application/json".to_owned()),
            (CONTENT_DISPOSITION, file),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}
