/* The post editor: live preview, autosave, word count, keyboard help, images dropped, pasted or
   picked, and a guard against leaving with unsaved work. Everything here is an enhancement:
   without it the form is a plain form that saves with its buttons. No inline script and no
   eval, so the admin's strict CSP holds. */
(function () {
  "use strict";

  var PREVIEW_DELAY = 400;
  var AUTOSAVE_DELAY = 3000;
  var LOCAL_COPY_DELAY = 800;
  // Side by side from this width of the editor: a 1280 px window has it beside the publishing column.
  var SPLIT_MIN_WIDTH = 800;
  var INDENT = "    ";
  var TEXT_FIELDS = ["title", "slug", "summary", "body"];

  var editor = document.querySelector(".post-editor");
  var form = document.getElementById("post_form");
  var body = document.getElementById("id_body");
  if (!editor || !form || !body) return;

  var state = editor.dataset.state;
  var autosaveUrl = editor.dataset.autosaveUrl;
  var wordsPerMinute = Number(editor.dataset.wordsPerMinute) || 230;
  var frame = editor.querySelector("[data-editor-frame]");
  var previewPane = editor.querySelector("[data-editor-preview]");
  var previewNote = editor.querySelector("[data-editor-preview-note]");
  var tabs = editor.querySelector("[data-editor-tabs]");
  var countNote = editor.querySelector("[data-editor-count]");
  var savedNote = editor.querySelector("[data-editor-saved]");
  var buttons = Array.prototype.slice.call(form.querySelectorAll(".post-form__buttons button"));
  var timeInput = document.getElementById("id_published_at");
  var loadedAt = Date.now();
  var serverNow = editor.dataset.now;

  function field(name) {
    return form.elements.namedItem(name);
  }

  function csrfToken() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, values) {
    var data = new FormData();
    Object.keys(values).forEach(function (name) { data.append(name, values[name]); });
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { ok: response.ok, status: response.status, json: json };
      });
    });
  }

  function debounce(fn, delay) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, delay);
    };
  }

  /* Unsaved changes: what the form holds now against what was last saved. */
  function snapshot() {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || element.name === "csrfmiddlewaretoken" || element.type === "submit") return;
      if ((element.type === "checkbox" || element.type === "radio") && !element.checked) return;
      if (element.tagName === "SELECT" && element.multiple) {
        values[element.name] = Array.prototype.map.call(element.selectedOptions, function (o) { return o.value; }).join(",");
        return;
      }
      values[element.name] = element.value;
    });
    return values;
  }
  var saved = snapshot();
  var submitting = false;

  function isDirty() {
    var now = snapshot();
    var names = Object.keys(now).concat(Object.keys(saved));
    return names.some(function (name) { return (now[name] || "") !== (saved[name] || ""); });
  }

  window.addEventListener("beforeunload", function (event) {
    if (submitting || !isDirty()) return;
    event.preventDefault();
    event.returnValue = "";
  });
  form.addEventListener("submit", function () {
    submitting = true;
    markLocalCopySubmitted();
  });

  /* Word count and reading time, as the site counts them. */
  function updateCount() {
    var words = body.value.trim() ? body.value.trim().split(/\s+/).length : 0;
    var minutes = Math.max(1, Math.ceil(words / wordsPerMinute));
    countNote.textContent = words.toLocaleString() + (words === 1 ? " word" : " words") + " · " + minutes + " min read";
  }

  /* The body grows with its text, from at least the window's height (set in the stylesheet). */
  function grow() {
    body.style.height = "auto";
    body.style.height = body.scrollHeight + 2 + "px";
  }

  /* Tab indents, Shift+Tab outdents; Esc then Tab leaves the field as usual. */
  var escaped = false;
  function replaceSelection(text, selectStart, selectEnd) {
    body.focus();
    // execCommand keeps the browser's undo history, but types into whatever has the focus: the
    // body, unless it is hidden (the Preview tab on a phone).
    var typed = document.activeElement === body && document.execCommand &&
      document.execCommand("insertText", false, text);
    if (!typed) {
      body.setRangeText(text, body.selectionStart, body.selectionEnd, "end");
    }
    if (selectStart !== undefined) body.setSelectionRange(selectStart, selectEnd);
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function indent(outdent) {
    var value = body.value;
    var start = body.selectionStart;
    var end = body.selectionEnd;
    if (!outdent && start === end) {
      replaceSelection(INDENT);
      return;
    }
    var lineStart = value.lastIndexOf("\n", start - 1) + 1;
    var lineEnd = end > start && value[end - 1] === "\n" ? end - 1 : end;
    var nextBreak = value.indexOf("\n", lineEnd);
    if (nextBreak === -1) nextBreak = value.length;
    var lines = value.slice(lineStart, nextBreak).split("\n");
    var changed = lines.map(function (line) {
      if (!outdent) return INDENT + line;
      var spaces = line.match(/^ {0,4}/)[0].length;
      return line.slice(line[0] === "\t" ? 1 : spaces);
    });
    var text = changed.join("\n");
    body.setSelectionRange(lineStart, nextBreak);
    replaceSelection(text, lineStart, lineStart + text.length);
  }

  body.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      escaped = true;
      return;
    }
    if (event.key === "Tab" && !event.ctrlKey && !event.altKey && !event.metaKey) {
      if (escaped) {
        escaped = false;
        return;
      }
      event.preventDefault();
      indent(event.shiftKey);
      return;
    }
    escaped = false;
  });

  /* Ctrl+S / Cmd+S presses the first button shown: it saves without changing who sees the post. */
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "s" || event.key === "S")) {
      event.preventDefault();
      var button = buttons.filter(function (b) { return !b.hidden; })[0];
      if (button) {
        if (form.requestSubmit) form.requestSubmit(button); else button.click();
      }
    }
  });

  /* "Schedule" only when the publish time is still to come. Times are in the server's zone:
     compare them as written, against the server's clock when the page was made. */
  function updateButtons() {
    if (!timeInput || !serverNow) return;
    var chosen = Date.parse(timeInput.value + "Z");
    var now = Date.parse(serverNow + "Z") + (Date.now() - loadedAt);
    var future = !isNaN(chosen) && chosen > now;
    buttons.forEach(function (button) {
      if (button.dataset.action === "schedule") button.hidden = !future;
    });
  }

  /* Preview: the server renders the body exactly as the site does, and sanitizes it. */
  var previewNumber = 0;
  var previewShown = false;
  function previewDocument(result) {
    var stylesheet = editor.dataset.stylesheet;
    var toc = result.toc_html
      ? '<nav class="post-toc" aria-labelledby="toc-heading"><h2 id="toc-heading" class="post-toc__heading">Contents</h2>' + result.toc_html + "</nav>"
      : "";
    return '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Preview</title>' +
      '<link rel="stylesheet" href="' + stylesheet + '"></head><body><main class="wrap">' +
      '<article class="post">' + toc + '<div class="post-body prose">' + result.html + "</div></article></main></body></html>";
  }

  function fitFrame() {
    try {
      var doc = frame.contentDocument;
      if (doc && doc.documentElement) frame.style.height = doc.documentElement.scrollHeight + 24 + "px";
    } catch (error) { /* a frame we cannot measure keeps its height */ }
  }
  frame.addEventListener("load", fitFrame);

  function renderPreview() {
    if (!previewShown) return;
    var number = ++previewNumber;
    if (!body.value.trim()) {
      frame.srcdoc = previewDocument({ html: "<p><em>Nothing to preview yet: the body is empty.</em></p>", toc_html: "" });
      return;
    }
    post(editor.dataset.previewUrl, { body: body.value }).then(function (result) {
      if (number !== previewNumber) return;
      if (!result.ok) {
        previewNote.textContent = result.json.error || "The preview could not be made (" + result.status + ").";
        previewNote.classList.add("post-editor__preview-note--error");
        return;
      }
      previewNote.textContent = "Preview, as readers will see it.";
      previewNote.classList.remove("post-editor__preview-note--error");
      frame.srcdoc = previewDocument(result.json);
    }).catch(function () {
      if (number !== previewNumber) return;
      previewNote.textContent = "The preview could not reach the server.";
      previewNote.classList.add("post-editor__preview-note--error");
    });
  }
  var schedulePreview = debounce(renderPreview, PREVIEW_DELAY);

  /* Wide: write and preview side by side. Narrow: a Write/Preview switch. */
  var tabButtons = tabs ? Array.prototype.slice.call(tabs.querySelectorAll("[role=tab]")) : [];
  var writePane = document.getElementById("editor-write");
  var split = null;

  function selectTab(which) {
    tabButtons.forEach(function (tab) {
      var selected = tab.getAttribute("aria-controls") === which;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.tabIndex = selected ? 0 : -1;
    });
    writePane.hidden = which !== "editor-write";
    previewPane.hidden = which !== "editor-preview";
    previewShown = which === "editor-preview";
    if (previewShown) renderPreview();
  }

  function layout() {
    var wide = editor.clientWidth >= SPLIT_MIN_WIDTH;
    if (wide === split) return;
    split = wide;
    editor.classList.toggle("post-editor--split", wide);
    if (wide) {
      tabs.hidden = true;
      writePane.hidden = false;
      previewPane.hidden = false;
      writePane.removeAttribute("role");
      previewPane.removeAttribute("role");
      previewShown = true;
      renderPreview();
    } else {
      tabs.hidden = false;
      writePane.setAttribute("role", "tabpanel");
      previewPane.setAttribute("role", "tabpanel");
      selectTab("editor-write");
    }
  }

  tabButtons.forEach(function (tab, index) {
    tab.addEventListener("click", function () { selectTab(tab.getAttribute("aria-controls")); });
    tab.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      var next = tabButtons[(index + (event.key === "ArrowRight" ? 1 : tabButtons.length - 1)) % tabButtons.length];
      next.focus();
      selectTab(next.getAttribute("aria-controls"));
    });
  });

  /* Autosave, for drafts only: it saves the words, never the status, so it never publishes. */
  var autosaving = state === "new" || state === "draft";
  var autosaveInFlight = false;
  function autosave() {
    if (!autosaving || submitting) return;
    var values = {};
    TEXT_FIELDS.forEach(function (name) { values[name] = field(name) ? field(name).value : ""; });
    if (!values.title.trim() || (state === "new" && !values.body.trim())) return;
    var changed = TEXT_FIELDS.some(function (name) { return (saved[name] || "") !== values[name]; });
    if (!changed) return;
    if (autosaveInFlight) {
      scheduleAutosave();
      return;
    }
    autosaveInFlight = true;
    post(autosaveUrl, values).then(function (result) {
      autosaveInFlight = false;
      if (result.status === 409 || result.status === 403) autosaving = false;
      if (!result.ok) {
        savedNote.textContent = result.json.error || "Not autosaved (" + result.status + ").";
        return;
      }
      TEXT_FIELDS.forEach(function (name) { saved[name] = values[name]; });
      if (state === "new") {
        state = "draft";
        editor.dataset.state = "draft";
        editor.dataset.postId = String(result.json.post_id);
        autosaveUrl = result.json.autosave_url;
        form.action = result.json.change_url;
        history.replaceState(null, "", result.json.change_url);
        // The server may have taken another slug than the one typed (that one was in use).
        if (field("slug")) field("slug").value = result.json.slug;
        saved.slug = field("slug") ? field("slug").value : "";
      }
      savedNote.textContent = "· Saved " + result.json.saved_at;
    }).catch(function () {
      autosaveInFlight = false;
      savedNote.textContent = "· Not autosaved: no connection. Your text is still here.";
    });
  }
  var scheduleAutosave = debounce(autosave, AUTOSAVE_DELAY);

  /* Unsaved words of a post are also kept in this browser, and offered back when it reopens:
     never saved, never published by themselves. */
  var storageKey = editor.dataset.postId ? "post-editor:" + editor.dataset.postId : null;
  function storage() {
    try { return window.localStorage; } catch (error) { return null; }
  }
  function readLocalCopy() {
    var store = storage();
    if (!store || !storageKey) return null;
    try { return JSON.parse(store.getItem(storageKey)); } catch (error) { return null; }
  }
  function writeLocalCopy() {
    var store = storage();
    if (!store || !storageKey || submitting) return;
    var values = {};
    TEXT_FIELDS.forEach(function (name) { values[name] = field(name) ? field(name).value : ""; });
    var differs = TEXT_FIELDS.some(function (name) { return (saved[name] || "") !== values[name]; });
    try {
      if (!differs) store.removeItem(storageKey);
      else store.setItem(storageKey, JSON.stringify({
        values: values, keptAt: new Date().toISOString(), base: editor.dataset.updatedAt || ""
      }));
    } catch (error) { /* storage full or refused: the form still holds the words */ }
  }
  var scheduleLocalCopy = debounce(writeLocalCopy, LOCAL_COPY_DELAY);
  function markLocalCopySubmitted() {
    var copy = readLocalCopy();
    if (!copy) return;
    copy.submitted = true;
    try { storage().setItem(storageKey, JSON.stringify(copy)); } catch (error) { /* nothing to do */ }
  }

  function offerLocalCopy() {
    var copy = readLocalCopy();
    if (!copy || !copy.values) return;
    var same = TEXT_FIELDS.every(function (name) { return !field(name) || field(name).value === copy.values[name]; });
    // Submitted and the post saved since: the copy reached the server.
    if (same || (copy.submitted && copy.base !== (editor.dataset.updatedAt || ""))) {
      storage().removeItem(storageKey);
      return;
    }
    var banner = editor.querySelector("[data-editor-restore]");
    banner.querySelector("[data-editor-restore-when]").textContent = "kept " + new Date(copy.keptAt).toLocaleString();
    banner.hidden = false;
    banner.querySelector("[data-editor-restore-apply]").addEventListener("click", function () {
      TEXT_FIELDS.forEach(function (name) {
        if (field(name) && typeof copy.values[name] === "string") field(name).value = copy.values[name];
      });
      banner.hidden = true;
      onBodyChanged();
      scheduleAutosave();
      body.focus();
    });
    banner.querySelector("[data-editor-restore-discard]").addEventListener("click", function () {
      storage().removeItem(storageKey);
      banner.hidden = true;
      body.focus();
    });
  }

  /* Images: dropped on the body, pasted into it, or picked in the "Add image" panel. Each is
     uploaded on its own, one after another, and its Markdown goes in at the cursor with the
     placeholder alt text selected, for the author to type over. The server refuses to publish a
     post whose image still has the placeholder, so leaving it there is safe. */
  var IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"];
  var imageUploadUrl = editor.dataset.imageUploadUrl;
  var imageNote = editor.querySelector("[data-editor-image-note]");
  var imageToggle = editor.querySelector("[data-editor-image-toggle]");
  var imagePanel = editor.querySelector("[data-editor-image-panel]");
  var imageFile = editor.querySelector("[data-editor-image-file]");
  var imageAlt = editor.querySelector("[data-editor-image-alt]");
  var imageDecorative = editor.querySelector("[data-editor-image-decorative]");
  var imageUpload = editor.querySelector("[data-editor-image-upload]");
  var dropCue = editor.querySelector("[data-editor-drop-cue]");
  var uploads = Promise.resolve();

  function showImageNote(text, isError) {
    imageNote.textContent = text;
    imageNote.classList.toggle("post-editor__image-note--error", Boolean(isError));
  }

  function isImage(file) {
    return IMAGE_TYPES.indexOf(file.type) !== -1;
  }

  /* Where the image a batch inserted last now ends: the occurrence of its "](url)" nearest to
     where it was put, since the author may have typed meanwhile. -1 when it is gone. */
  function endOfImage(image) {
    var value = body.value;
    var best = -1;
    for (var at = value.indexOf(image.tail); at !== -1; at = value.indexOf(image.tail, at + 1)) {
      if (best === -1 || Math.abs(at - image.tailAt) < Math.abs(best - image.tailAt)) best = at;
    }
    return best === -1 ? -1 : best + image.tail.length;
  }

  /* The first image of a batch replaces the selection, its alt text selected when it is still to
     be written; each next one follows the one before, in a paragraph of its own, and the author's
     cursor stays where it is. Inserting goes through the same input handling as typing. */
  function insertImage(result, batch) {
    if (writePane.hidden) selectTab("editor-write");
    var markdown = result.markdown;
    var altEnd = markdown.lastIndexOf("](");
    var after = batch.last ? endOfImage(batch.last) : -1;
    if (after === -1) {
      var start = body.selectionStart;
      batch.altSelected = !result.alt_text && altEnd > 2;
      if (batch.altSelected) replaceSelection(markdown, start + 2, start + altEnd);
      else replaceSelection(markdown);
      batch.last = { tail: markdown.slice(altEnd), tailAt: start + altEnd };
      return;
    }
    var text = "\n\n" + markdown;
    var selectionStart = body.selectionStart;
    var selectionEnd = body.selectionEnd;
    function moved(position) { return position > after ? position + text.length : position; }
    body.setSelectionRange(after, after);
    replaceSelection(text, moved(selectionStart), moved(selectionEnd));
    batch.last = { tail: markdown.slice(altEnd), tailAt: after + 2 + altEnd };
  }

  function uploadImage(file, options, batch) {
    showImageNote("Uploading " + file.name + "…");
    var values = { file: file };
    if (options.altText) values.alt_text = options.altText;
    if (options.decorative) values.decorative = "1";
    return post(imageUploadUrl, values).then(function (result) {
      if (!result.ok || !result.json.markdown) {
        var reason = result.json.error || "the server answered " + result.status + ".";
        batch.errors.push(file.name + " was not added: " + reason);
        return;
      }
      insertImage(result.json, batch);
      batch.added.push(result.json.name || file.name);
    }).catch(function () {
      batch.errors.push(file.name + " was not added: the server could not be reached. Your text is still here.");
    });
  }

  /* Uploads files in turn, after any still going; resolves to what happened to them. */
  function uploadImages(files, options) {
    var batch = { last: null, added: [], errors: [], altSelected: false };
    files.forEach(function (file) {
      if (!isImage(file)) {
        batch.errors.push(file.name + " was not added: only JPEG, PNG, WebP and GIF images can be.");
        return;
      }
      uploads = uploads.then(function () { return uploadImage(file, options || {}, batch); });
    });
    uploads = uploads.then(function () {
      if (batch.errors.length) showImageNote(batch.errors.join(" "), true);
      else if (batch.added.length > 1) showImageNote("Added " + batch.added.length + " images.");
      else if (batch.added.length) {
        showImageNote("Added " + batch.added[0] + (batch.altSelected ? ": type its alt text over the selected words." : "."));
      }
      return batch;
    });
    return uploads;
  }

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return Boolean(types) && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  function showDropCue(shown) {
    dropCue.hidden = !shown;
    writePane.classList.toggle("post-editor__write--drop", shown);
  }

  function filesOf(data) {
    var files = Array.prototype.slice.call(data.files || []);
    if (files.length || !data.items) return files;
    return Array.prototype.filter.call(data.items, function (item) { return item.kind === "file"; })
      .map(function (item) { return item.getAsFile(); })
      .filter(Boolean);
  }

  function setImagePanelOpen(open) {
    imagePanel.hidden = !open;
    imageToggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) imageFile.focus();
  }

  function closeImagePanel() {
    setImagePanelOpen(false);
    imageToggle.focus();
  }

  function uploadFromPanel() {
    var files = Array.prototype.slice.call(imageFile.files || [], 0, 1);
    if (!files.length) {
      showImageNote("Choose an image file first.", true);
      imageFile.focus();
      return;
    }
    imageUpload.disabled = true;
    uploadImages(files, { altText: imageAlt.value.trim(), decorative: imageDecorative.checked }).then(function (batch) {
      imageUpload.disabled = false;
      if (!batch.added.length) return;
      imageFile.value = "";
      imageAlt.value = "";
      imageAlt.disabled = false;
      imageDecorative.checked = false;
      setImagePanelOpen(false);
      body.focus();
    });
  }

  if (imageUploadUrl) {
    imageToggle.hidden = false;
    imageToggle.addEventListener("click", function () { setImagePanelOpen(imagePanel.hidden); });
    editor.querySelector("[data-editor-image-cancel]").addEventListener("click", closeImagePanel);
    imagePanel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        closeImagePanel();
      }
    });
    imageDecorative.addEventListener("change", function () { imageAlt.disabled = imageDecorative.checked; });
    // Enter in the alt text uploads, rather than submitting the post's form.
    imageAlt.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        uploadFromPanel();
      }
    });
    imageUpload.addEventListener("click", uploadFromPanel);

    body.addEventListener("dragenter", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      showDropCue(true);
    });
    body.addEventListener("dragover", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      showDropCue(true);
    });
    body.addEventListener("dragleave", function (event) {
      if (!body.contains(event.relatedTarget)) showDropCue(false);
    });
    body.addEventListener("drop", function (event) {
      showDropCue(false);
      if (!hasFiles(event)) return;
      event.preventDefault();
      // The image goes where it was dropped, as dropped words would; elsewhere, at the cursor.
      var caret = document.caretPositionFromPoint && document.caretPositionFromPoint(event.clientX, event.clientY);
      if (caret && caret.offsetNode === body) body.setSelectionRange(caret.offset, caret.offset);
      uploadImages(Array.prototype.slice.call(event.dataTransfer.files));
    });
    // A file dropped just beside the body would make the browser open it and leave the editor;
    // the file picker still takes files dropped on it.
    document.addEventListener("dragover", function (event) {
      if (!hasFiles(event) || event.target === body || event.target.type === "file") return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "none";
    });
    document.addEventListener("drop", function (event) {
      showDropCue(false);
      if (hasFiles(event) && event.target !== body && event.target.type !== "file") event.preventDefault();
    });

    body.addEventListener("paste", function (event) {
      var data = event.clipboardData;
      // Words copied from an office program come with a picture of themselves: the words win.
      if (!data || data.getData("text/plain")) return;
      var images = filesOf(data).filter(isImage);
      if (!images.length) return;
      event.preventDefault();
      uploadImages(images);
    });
  }

  function onBodyChanged() {
    updateCount();
    grow();
    schedulePreview();
  }

  body.addEventListener("input", onBodyChanged);
  form.addEventListener("input", function () {
    scheduleAutosave();
    scheduleLocalCopy();
  });
  if (timeInput) {
    timeInput.addEventListener("input", updateButtons);
    timeInput.addEventListener("change", updateButtons);
  }

  updateCount();
  grow();
  updateButtons();
  layout();
  window.addEventListener("resize", debounce(layout, 150));
  offerLocalCopy();
})();
