//! `/dashboard/posts`: a creator writes, previews, publishes, edits and
//! deletes posts, and adds pictures to them. Every form answers with a
//! redirect to a page (so reloading it sends nothing twice), or with the
//! form again, as it was typed, and the reason it was refused.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maecenas_domain::posts::{Audience, IMAGES_PER_POST};
use maecenas_domain::{CreationId, PostImageId, TierId};
use maecenas_services::ServiceError;
use maecenas_services::patreon::CampaignView;
use maecenas_services::posts::{ChargePreview, PostEditor, PostInput};
use maecenas_services::records::{CreationRow, TierRow};
use maud::{Markup, html};
use serde::Deserialize;

use super::guard::{Button, Creator, SignedForm, SignedIn};
use super::kit::{Done, date, field_error, form_error, money};
use super::layout::wide_page;
use crate::AppState;
use crate::redirect::see_other;

const HERE: &str = "/dashboard/posts";

fn editor_url(id: CreationId) -> String {
    format!("{HERE}/{id}")
}

/// What the pages say after each change they redirected from.
const NOTICES: &[(&str, &str)] = &[
    (
        "created",
        "Draft saved. Only you can see it until you publish it.",
    ),
    ("saved", "Changes saved."),
    ("published", "Published. Your patrons can read it now."),
    ("picture", "Picture added."),
    ("picture_removed", "Picture removed."),
    ("deleted", "Post deleted."),
];

/// The post form as the browser sends it.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct PostForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    embed_url: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    min_tier: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    is_paid: Option<String>,
}

impl PostForm {
    fn of(post: &CreationRow) -> Self {
        Self {
            title: post.title.clone(),
            body: post.body.clone(),
            embed_url: post.embed_url.clone().unwrap_or_default(),
            audience: post.audience.clone(),
            min_tier: post.min_tier_id.map(|t| t.to_string()).unwrap_or_default(),
            is_paid: post.is_paid.then(|| "on".to_owned()),
        }
    }

    fn blank(view: &CampaignView) -> Self {
        Self {
            audience: Audience::Patrons.as_str().to_owned(),
            is_paid: (!view.campaign.is_monthly).then(|| "on".to_owned()),
            ..Self::default()
        }
    }

    fn input(&self) -> Result<PostInput, ServiceError> {
        let min_tier = match self.min_tier.trim() {
            "" => None,
            id => Some(
                id.parse::<TierId>()
                    .map_err(|_| ServiceError::invalid("min_tier", "Choose one of your tiers."))?,
            ),
        };
        Ok(PostInput {
            title: self.title.clone(),
            body: self.body.clone(),
            embed_url: self.embed_url.clone(),
            audience: self.audience.clone(),
            min_tier,
            is_paid: self.is_paid.is_some(),
        })
    }
}

pub async fn list(
    State(state): State<AppState>,
    Creator(signed): Creator,
    Query(done): Query<Done>,
) -> Response {
    let listed = match state.services.creator_posts(signed.user.id).await {
        Ok(listed) => listed,
        Err(ServiceError::NotFound(_)) => return no_campaign(&signed),
        Err(err) => return signed.refusal(err),
    };
    let currency = listed.campaign.currency.as_str();
    let body = html! {
        section.card {
            h1 { "Posts" }
            @if let Some(notice) = done.notice(NOTICES) { p.notice role="status" { (notice) } }
            p { "What you publish here appears on your page, in your patrons' feeds and in feed readers, for the readers you choose." }
            a.button href=(format!("{HERE}/new")) { "Write a post" }
        }
        section.card {
            @if listed.posts.is_empty() {
                p.muted { "No posts yet. Your first one could thank your patrons, or show what you are working on." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th { "Title" } th { "Status" } th { "Who may read it" } @if !listed.campaign.is_monthly { th { "Paid" } } } }
                    tbody {
                        @for post in &listed.posts {
                            tr {
                                td { a href=(editor_url(post.id)) { (post.title) } }
                                td {
                                    @match post.published_at {
                                        Some(at) => { "Published " (date(at)) }
                                        None => { span.badge { "Draft" } }
                                    }
                                }
                                td { (audience_label(post, &[], currency)) }
                                @if !listed.campaign.is_monthly { td { @if post.is_paid { "Paid" } @else { "Free" } } }
                            }
                        }
                    }
                } }
            }
        }
    };
    wide_page(Some(&signed.viewer()), "Posts", body).into_response()
}

fn no_campaign(signed: &SignedIn) -> Response {
    let body = html! {
        section.card {
            h1 { "Posts" }
            p { "Posts belong to a campaign. " a href="/dashboard/campaign" { "Start your campaign" } " first; you can write while it is still a draft." }
        }
    };
    wide_page(Some(&signed.viewer()), "Posts", body).into_response()
}

pub async fn new(State(state): State<AppState>, Creator(signed): Creator) -> Response {
    match state.services.campaign_setup(signed.user.id).await {
        Ok(view) => {
            let form = PostForm::blank(&view);
            render_new(&signed, &view, &form, None, StatusCode::OK)
        }
        Err(ServiceError::NotFound(_)) => no_campaign(&signed),
        Err(err) => signed.refusal(err),
    }
}

pub async fn create(
    State(state): State<AppState>,
    SignedForm {
        who: Creator(signed),
        form,
    }: SignedForm<PostForm, Creator>,
) -> Response {
    let created = match form.input() {
        Ok(input) => state.services.create_post(signed.user.id, &input).await,
        Err(err) => Err(err),
    };
    match created {
        Ok(post) => see_other(&format!("{}?done=created", editor_url(post.id))),
        Err(ServiceError::NotFound(_)) => no_campaign(&signed),
        Err(err) => match state.services.campaign_setup(signed.user.id).await {
            Ok(view) => render_new(
                &signed,
                &view,
                &form,
                Some(&err),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Err(other) => signed.refusal(other),
        },
    }
}

fn render_new(
    signed: &SignedIn,
    view: &CampaignView,
    form: &PostForm,
    error: Option<&ServiceError>,
    status: StatusCode,
) -> Response {
    let body = html! {
        section.card {
            p.muted { a href=(HERE) { "← Posts" } }
            h1 { "Write a post" }
            p.muted { "It is saved as a draft: nobody but you sees it until you publish it." }
            (post_form(signed, view, form, None, error, "Save draft", HERE))
        }
    };
    (
        status,
        wide_page(Some(&signed.viewer()), "Write a post", body),
    )
        .into_response()
}

pub async fn edit(
    State(state): State<AppState>,
    Creator(signed): Creator,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let Some(id) = post_id(&id) else {
        return signed.refusal(ServiceError::NotFound("post"));
    };
    match state.services.post_editor(signed.user.id, id).await {
        Ok(editor) => {
            let form = PostForm::of(&editor.post);
            let notice = done.notice(NOTICES).map(|text| Notice {
                text,
                // Where the page opens (`#pictures`).
                at_pictures: done.key().starts_with("picture"),
            });
            render_editor(&signed, &editor, &form, None, notice, StatusCode::OK)
        }
        Err(err) => signed.refusal(err),
    }
}

fn post_id(id: &str) -> Option<CreationId> {
    id.parse().ok()
}

/// What a change did, shown at the top or next to the pictures.
#[derive(Clone, Copy)]
struct Notice {
    text: &'static str,
    at_pictures: bool,
}

/// Where on the editor a refusal is shown.
#[derive(Clone, Copy)]
enum Section<'a> {
    Form(&'a ServiceError),
    Pictures(&'a ServiceError),
    Publish(&'a ServiceError),
}

fn render_editor(
    signed: &SignedIn,
    editor: &PostEditor,
    form: &PostForm,
    failed: Option<Section<'_>>,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let post = &editor.post;
    let (top_notice, pictures_notice) = match notice {
        Some(n) if n.at_pictures => (None, Some(n.text)),
        Some(n) => (Some(n.text), None),
        None => (None, None),
    };
    let view = &editor.view;
    let username = view.creator.username.as_deref().unwrap_or_default();
    let currency = view.campaign.currency.as_str();
    let here = editor_url(post.id);
    let form_error_of = match failed {
        Some(Section::Form(err)) => Some(err),
        _ => None,
    };
    let body = html! {
        section.card {
            p.muted { a href=(HERE) { "← Posts" } }
            h1 { "Edit post" }
            @if let Some(notice) = top_notice { p.notice role="status" { (notice) } }
            p {
                @match post.published_at {
                    Some(at) => { "Published " (date(at)) ". Changes show at once; webhooks tell integrations of each one." }
                    None => { span.badge { "Draft" } " Only you can see it." }
                }
                " "
                a href=(format!("/{username}/posts/{}", post.id)) data-testid="preview" {
                    @if post.published_at.is_some() { "View it as readers see it" } @else { "Preview it" }
                }
            }
            (post_form(signed, view, form, Some(post), form_error_of, "Save changes", &here))
        }
        section.card id="pictures" {
            h2 { "Pictures" }
            p.muted { "Up to " (IMAGES_PER_POST) " pictures (PNG, JPEG, GIF or WebP, at most 1 MB each), shown below the text. Only readers of the post can load them." }
            @if let Some(notice) = pictures_notice { p.notice role="status" { (notice) } }
            @if let Some(Section::Pictures(err)) = failed { (form_error(Some(err), &[])) }
            @if !editor.images.is_empty() {
                div style="display:flex;flex-wrap:wrap;gap:.8rem" {
                    @for image in &editor.images {
                        figure style="margin:0" {
                            img src=(format!("/{username}/posts/{}/images/{}", post.id, image.id)) alt=""
                                style="max-width:10rem;max-height:8rem;border-radius:6px;display:block";
                            form.inline method="post" action=(format!("{here}/images/{}/delete", image.id)) {
                                input type="hidden" name="csrf" value=(signed.csrf);
                                button.secondary type="submit" { "Remove" }
                            }
                        }
                    }
                }
            }
            @if editor.images.len() < IMAGES_PER_POST {
                form method="post" action=(format!("{here}/images")) enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(signed.csrf);
                    label for="image" { "Add a picture" }
                    input type="file" id="image" name="image" accept="image/png,image/jpeg,image/gif,image/webp";
                    button.secondary type="submit" { "Upload" }
                }
            }
        }
        @if post.published_at.is_none() {
            section.card id="publish" {
                h2 { "Publish" }
                @if let Some(Section::Publish(err)) = failed { (form_error(Some(err), &[])) }
                p data-testid="charge-preview" { (publish_consequence(editor, currency)) }
                form method="post" action=(format!("{here}/publish")) {
                    input type="hidden" name="csrf" value=(signed.csrf);
                    button type="submit" { "Publish now" }
                }
            }
        }
        section.card {
            h2 { "Delete" }
            p.muted { (what_deleting_does(editor)) }
            // A page that asks first: no script may ask on this one.
            a.button.secondary href=(format!("{here}/delete")) { "Delete this post…" }
        }
    };
    (status, wide_page(Some(&signed.viewer()), "Edit post", body)).into_response()
}

fn what_deleting_does(editor: &PostEditor) -> String {
    let post = &editor.post;
    let mut text = if post.published_at.is_some() {
        "Readers will no longer find it, and integrations are told it is gone.".to_owned()
    } else {
        "The draft and its pictures are deleted.".to_owned()
    };
    if post.is_paid && post.published_at.is_some() && !editor.view.campaign.is_monthly {
        text.push_str(" A paid post deleted before its month is billed is not charged.");
    }
    text
}

/// `GET /dashboard/posts/{id}/delete`: are you sure?
pub async fn confirm_delete(
    State(state): State<AppState>,
    Creator(signed): Creator,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = post_id(&id) else {
        return signed.refusal(ServiceError::NotFound("post"));
    };
    let editor = match state.services.post_editor(signed.user.id, id).await {
        Ok(editor) => editor,
        Err(err) => return signed.refusal(err),
    };
    let here = editor_url(id);
    let body = html! {
        section.card {
            h1 { "Delete “" (editor.post.title) "”?" }
            p { (what_deleting_does(&editor)) " This cannot be undone." }
            form method="post" action=(format!("{here}/delete")) style="display:inline;margin-right:.5rem" {
                input type="hidden" name="csrf" value=(signed.csrf);
                button.danger type="submit" { "Delete it" }
            }
            a.button.secondary href=(here) { "Keep it" }
        }
    };
    wide_page(Some(&signed.viewer()), "Delete post", body).into_response()
}

/// What publishing will do, in the creator's terms.
fn publish_consequence(editor: &PostEditor, currency: &str) -> String {
    let readers = audience_label(&editor.post, &editor.view.tiers, currency);
    match editor.charge {
        Some(ChargePreview {
            patrons,
            total_minor,
            at_cap,
        }) => {
            let mut text = if patrons == 0 {
                "This is a paid post, but no patron would be charged for it now.".to_owned()
            } else {
                format!(
                    "This is a paid post: publishing it adds a charge for {} to this month's bill, {} in total.",
                    count(patrons, "patron", "patrons"),
                    money(total_minor, currency)
                )
            };
            if at_cap > 0 {
                text.push_str(&format!(
                    " {} already reached their monthly limit and will not be charged for it.",
                    count(at_cap, "patron has", "patrons have")
                ));
            }
            format!("{text} {}", who_reads(&readers))
        }
        None if !editor.view.campaign.is_monthly => format!(
            "This is a free post: publishing it charges no one. {}",
            who_reads(&readers)
        ),
        None => format!(
            "{} Publishing charges no one: your patrons pay monthly.",
            who_reads(&readers)
        ),
    }
}

fn who_reads(readers: &str) -> String {
    if readers == "everyone" {
        "Once it is published, everyone can read it, patron or not.".to_owned()
    } else {
        format!(
            "Once it is published, {readers} can read it; everyone else sees its title and what would unlock it."
        )
    }
}

fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Who may read a post, as the creator reads it.
fn audience_label(post: &CreationRow, tiers: &[TierRow], currency: &str) -> String {
    match post.audience.parse::<Audience>() {
        Ok(Audience::Public) => "everyone".to_owned(),
        Ok(Audience::Patrons) => "all patrons".to_owned(),
        _ => match tiers.iter().find(|t| Some(t.id.get()) == post.min_tier_id) {
            Some(tier) => format!(
                "patrons of {} ({} or more)",
                tier.title,
                money(tier.amount_minor, currency)
            ),
            None => "patrons of a chosen tier and up".to_owned(),
        },
    }
}

fn post_form(
    signed: &SignedIn,
    view: &CampaignView,
    form: &PostForm,
    post: Option<&CreationRow>,
    error: Option<&ServiceError>,
    submit: &str,
    action: &str,
) -> Markup {
    let currency = view.campaign.currency.as_str();
    let tiers: Vec<&TierRow> = view
        .tiers
        .iter()
        .filter(|t| t.retired_at.is_none())
        .collect();
    let published = post.is_some_and(|p| p.published_at.is_some());
    let fields = ["title", "body", "embed_url", "audience", "min_tier"];
    html! {
        (form_error(error, &fields))
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(signed.csrf);
            label for="title" { "Title" }
            input type="text" id="title" name="title" value=(form.title) required maxlength="200";
            (field_error(error, "title"))
            label for="body" { "Text" }
            textarea id="body" name="body" rows="12" { (form.body) }
            p.muted { "Markdown: **bold**, _italic_, [a link](https://example.org), lists with -, headings with #." }
            (field_error(error, "body"))
            label for="embed_url" { "Link or media address (optional)" }
            input type="url" id="embed_url" name="embed_url" value=(form.embed_url) placeholder="https://";
            p.muted { "A video, an episode or a download, shown to readers as a link." }
            (field_error(error, "embed_url"))
            fieldset {
                legend { "Who may read it" }
                label.check { input type="radio" name="audience" value="public" checked[form.audience == "public"]; " Everyone, patron or not" }
                label.check { input type="radio" name="audience" value="patrons" checked[form.audience == "patrons"]; " All patrons" }
                @if tiers.is_empty() {
                    p.muted { "To keep a post for higher tiers, " a href="/dashboard/campaign" { "add tiers" } " first." }
                } @else {
                    label.check { input type="radio" name="audience" value="tier" checked[form.audience == "tier"]; " Patrons of this tier and up:" }
                    select name="min_tier" aria-label="Lowest tier that may read it" {
                        option value="" { "Choose a tier" }
                        @for tier in &tiers {
                            option value=(tier.id) selected[form.min_tier == tier.id.to_string()] {
                                (tier.title) " (" (money(tier.amount_minor, currency)) ")"
                            }
                        }
                    }
                }
                (field_error(error, "audience"))
                (field_error(error, "min_tier"))
            }
            @if !view.campaign.is_monthly {
                label.check {
                    input type="checkbox" name="is_paid" checked[form.is_paid.is_some()] disabled[published];
                    " Paid post: each patron is charged their amount per creation for it (within their monthly limit)"
                }
                @if published {
                    // A disabled box is not sent: repeat what was published.
                    @if form.is_paid.is_some() { input type="hidden" name="is_paid" value="on"; }
                    p.muted { "Whether it is paid was fixed when it was published: patrons were told what it costs." }
                }
            }
            button type="submit" { (submit) }
        }
    }
}

pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm {
        who: Creator(signed),
        form,
    }: SignedForm<PostForm, Creator>,
) -> Response {
    let Some(id) = post_id(&id) else {
        return signed.refusal(ServiceError::NotFound("post"));
    };
    let saved = match form.input() {
        Ok(input) => state.services.update_post(signed.user.id, id, &input).await,
        Err(err) => Err(err),
    };
    match saved {
        Ok(_) => see_other(&format!("{}?done=saved", editor_url(id))),
        Err(err @ ServiceError::Invalid { .. }) => {
            again(&state, &signed, id, Some(&form), Section::Form(&err)).await
        }
        Err(err) => signed.refusal(err),
    }
}

/// The editor again with why a change was refused, and the post form as it
/// was sent (`None`: as it is saved, for a refusal from another section).
async fn again(
    state: &AppState,
    signed: &SignedIn,
    id: CreationId,
    form: Option<&PostForm>,
    failed: Section<'_>,
) -> Response {
    match state.services.post_editor(signed.user.id, id).await {
        Ok(editor) => {
            let saved = PostForm::of(&editor.post);
            render_editor(
                signed,
                &editor,
                form.unwrap_or(&saved),
                Some(failed),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(err) => signed.refusal(err),
    }
}

pub async fn publish(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm {
        who: Creator(signed),
        ..
    }: SignedForm<Button, Creator>,
) -> Response {
    let Some(id) = post_id(&id) else {
        return signed.refusal(ServiceError::NotFound("post"));
    };
    match state.services.publish_post(signed.user.id, id).await {
        Ok(_) => see_other(&format!("{}?done=published", editor_url(id))),
        Err(err @ ServiceError::Invalid { .. }) => {
            again(&state, &signed, id, None, Section::Publish(&err)).await
        }
        Err(err) => signed.refusal(err),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm {
        who: Creator(signed),
        ..
    }: SignedForm<Button, Creator>,
) -> Response {
    let Some(id) = post_id(&id) else {
        return signed.refusal(ServiceError::NotFound("post"));
    };
    match state.services.delete_post(signed.user.id, id).await {
        Ok(()) => see_other(&format!("{HERE}?done=deleted")),
        Err(err) => signed.refusal(err),
    }
}

pub async fn add_image(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Creator(signed): Creator,
    mut multipart: Multipart,
) -> Response {
    let Some(id) = post_id(&id) else {
        return signed.refusal(ServiceError::NotFound("post"));
    };
    let mut presented = String::new();
    let mut picture = None;
    let mut unreadable = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => presented = field.text().await.unwrap_or_default(),
                Some("image") => match field.bytes().await {
                    Ok(bytes) => picture = Some(bytes.to_vec()),
                    Err(e) => {
                        unreadable = Some(e.body_text());
                        break;
                    }
                },
                _ => {}
            },
            Ok(None) => break,
            Err(e) => {
                unreadable = Some(e.body_text());
                break;
            }
        }
    }
    // A form cut short may not have reached its token: refuse it as forged
    // rather than tell a forger why the upload failed.
    if let Some(refused) = signed.refuse_forged(&presented) {
        return refused;
    }
    let added = match (unreadable, picture.filter(|p| !p.is_empty())) {
        (Some(reason), _) => Err(ServiceError::invalid(
            "image",
            format!("The picture could not be read ({reason}). Pictures may be at most 1 MB."),
        )),
        (None, None) => Err(ServiceError::invalid(
            "image",
            "Choose a picture to upload first.",
        )),
        (None, Some(bytes)) => state
            .services
            .add_post_image(signed.user.id, id, bytes)
            .await
            .map(|_| ()),
    };
    match added {
        Ok(()) => see_other(&format!("{}?done=picture#pictures", editor_url(id))),
        Err(err @ ServiceError::Invalid { .. }) => {
            again(&state, &signed, id, None, Section::Pictures(&err)).await
        }
        Err(err) => signed.refusal(err),
    }
}

pub async fn delete_image(
    State(state): State<AppState>,
    Path((id, image)): Path<(String, String)>,
    SignedForm {
        who: Creator(signed),
        ..
    }: SignedForm<Button, Creator>,
) -> Response {
    let (Some(id), Ok(image)) = (post_id(&id), image.parse::<PostImageId>()) else {
        return signed.refusal(ServiceError::NotFound("image"));
    };
    match state
        .services
        .delete_post_image(signed.user.id, id, image)
        .await
    {
        Ok(()) => see_other(&format!("{}?done=picture_removed#pictures", editor_url(id))),
        Err(err) => signed.refusal(err),
    }
}
