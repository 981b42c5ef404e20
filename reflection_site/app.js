/* Course reflection page: language, drafts with autosave, validation, submission.
   A classic script (defer): Chromium refuses module scripts from file://. */
(function () {
  "use strict";

  var QUESTIONS = ["question1", "question2", "question3"];
  var LANGUAGES = ["en", "fr"];
  var LANGUAGE_KEY = "cms.reflection.language";
  var EMAIL_KEY = "cms.reflection.email";
  var AUTOSAVE_EVERY = 30000;
  var AUTOSAVE_AFTER_TYPING = 3000;
  // A screen reader hears an automatic save at most once a minute (a save asked for, at once).
  var ANNOUNCE_AT_MOST_EVERY = 60000;
  var EMAIL_SHAPE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
  // What cms refuses in an answer (control characters, bidi overrides) and its length.
  var CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
  var MAX_ANSWER = 10000;

  var $ = function (id) { return document.getElementById(id); };
  var form = $("reflection-form");
  var fields = QUESTIONS.map(function (q) { return $(q); });
  var emailField = $("email");

  // English is the page itself: every [data-i18n] element carries its English text.
  var english = {};
  Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (el) {
    english[el.getAttribute("data-i18n")] = el.textContent.trim();
  });
  var dictionaries = { en: english };
  var language = "en";
  var status = { key: "notSaved", params: {} };
  var dirty = false;
  var typingTimer = null;
  var lastAnnounced = -Infinity;
  // The file handed over and not yet confirmed saved: {file, data}; kept in the draft.
  var pending = null;

  function t(key, params) {
    var text = (dictionaries[language] && dictionaries[language][key]) || english[key] || key;
    Object.keys(params || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(params[name]));
    });
    return text;
  }

  // -- course context (?offering=ID&course=NAME), one draft per link --------------------
  var query = new URLSearchParams(window.location.search);
  var offeringParam = (query.get("offering") || "").trim();
  // An offering id as cms has them: 1 to 2^31 - 1.
  var offering = /^[0-9]{1,10}$/.test(offeringParam) && Number(offeringParam) >= 1 &&
    Number(offeringParam) <= 2147483647 ? String(Number(offeringParam)) : null;
  var course = (query.get("course") || "").trim().slice(0, 200);
  // Where the file is handed in (?handin=URL): a web page of the course (its drop box),
  // shown as a button. Only an http(s) address is taken; anything else is ignored.
  var handin = (function (raw) {
    if (!raw || raw.length > 2000) { return null; }
    try {
      var url = new URL(raw);
      return url.protocol === "https:" || url.protocol === "http:" ? url : null;
    } catch (e) {
      return null;
    }
  })((query.get("handin") || "").trim());
  // A link without a valid offering keeps its draft under the whole link: two courses'
  // broken links never share one.
  var draftKey = "cms.reflection.draft." + (offering || "link:" + offeringParam.slice(0, 40) + "|" + course);

  function showCourse() {
    $("link-problem").hidden = offering !== null;
    $("submit").disabled = offering === null;
    if (offering === null) {
      $("submit").setAttribute("aria-describedby", "link-problem");
    } else {
      $("submit").removeAttribute("aria-describedby");
    }
    if (!offering && !course) {
      $("course").hidden = true;
      return;
    }
    $("course").hidden = false;
    $("course-name").textContent = course || "—";
    $("course-offering").textContent = offering ? "(" + t("offeringLabel") + " " + offering + ")" : "";
  }

  // -- storage that never throws (private modes, full disks) ------------------------------
  function store(key, value) {
    try {
      if (value === null) { window.localStorage.removeItem(key); } else { window.localStorage.setItem(key, value); }
      return true;
    } catch (e) {
      return false;
    }
  }
  function recall(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  // -- language ----------------------------------------------------------------------------
  function fetchDictionary(lang) {
    if (dictionaries[lang]) { return Promise.resolve(dictionaries[lang]); }
    if (window.location.protocol === "file:") {
      // Browsers refuse fetch() from file://: keep English, say so, no console error.
      return Promise.reject(new Error("file"));
    }
    return fetch("i18n/" + lang + ".json", { cache: "no-cache" }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (words) {
      dictionaries[lang] = words;
      return words;
    });
  }

  function render() {
    document.documentElement.lang = language;
    document.title = t("title");
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (el) {
      el.textContent = t(el.getAttribute("data-i18n"));
    });
    Array.prototype.forEach.call(document.querySelectorAll(".lang"), function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-lang") === language));
    });
    showCourse();
    showHandin();
    fields.forEach(updateCount);
    fields.concat([emailField]).forEach(function (field) {
      if (field.getAttribute("aria-invalid") === "true") { markField(field, true); }
    });
    $("save-status").textContent = t(status.key, status.params);
    if (pending) { $("ready-text").textContent = readyText(); }
    if (!$("error-summary").hidden) { listProblems(missing()); }
  }

  function readyText() {
    return handin ? t("readyTextLink", { file: pending.file, host: handin.host })
      : t("readyText", { file: pending.file });
  }

  function showHandin() {
    ["done-handin", "ready-handin"].forEach(function (id) {
      var link = $(id);
      if (handin) {
        link.href = handin.href;
        link.querySelector(".host").textContent = "(" + handin.host + ")";
      }
    });
    $("done-handin").hidden = !handin;
    $("ready-handin-row").hidden = !handin;
  }

  var languageAsked = 0;

  function setLanguage(lang, remember) {
    var note = $("translation-note");
    var asked = ++languageAsked;
    return fetchDictionary(lang).then(function () {
      if (asked !== languageAsked) { return; }  // a later click wins over a slow answer
      language = lang;
      note.hidden = true;
      if (remember) { store(LANGUAGE_KEY, lang); }
      render();
    }, function () {
      if (asked !== languageAsked) { return; }
      language = "en";
      render();
      if (lang === "fr") {
        // Said in the language asked for: a French reader may not read the English one.
        note.textContent = english.translationUnavailableFr;
        note.setAttribute("lang", "fr");
        note.hidden = false;
      }
    });
  }

  function initialLanguage() {
    var chosen = recall(LANGUAGE_KEY);
    if (LANGUAGES.indexOf(chosen) >= 0) { return chosen; }
    var preferred = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
    return /^fr\b/i.test(preferred) ? "fr" : "en";
  }

  // -- counts, status, drafts --------------------------------------------------------------
  function updateCount(field) {
    var n = field.value.length;
    $(field.id + "-count").textContent = n === 1 ? t("character") : t("characters", { count: n });
    $(field.id + "-print").textContent = field.value;  // the whole answer, for print
  }

  // The status is shown at once; it is announced (a polite live region) at once when the
  // student asked for it, and for an automatic save at most once a minute.
  function setStatus(key, params, automatic) {
    status = { key: key, params: params || {} };
    var text = t(key, params);
    $("save-status").textContent = text;
    var now = Date.now();
    if (!automatic || now - lastAnnounced >= ANNOUNCE_AT_MOST_EVERY) {
      $("save-announce").textContent = text;
      lastAnnounced = now;
    }
  }

  function timeOf(date) {
    return date.toLocaleTimeString(language === "fr" ? "fr-FR" : "en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  function answers() {
    var out = {};
    fields.forEach(function (field) { out[field.id] = field.value; });
    return out;
  }

  function saveDraft(automatic) {
    window.clearTimeout(typingTimer);
    var values = answers();
    var empty = QUESTIONS.every(function (q) { return !values[q].trim(); });
    if (empty && !pending) {
      store(draftKey, null);
      dirty = false;
      setStatus("notSaved", {}, automatic === true);
      return;
    }
    var now = new Date();
    var draft = {
      offering: offering, course: course, language: language, answers: values,
      saved_at: now.toISOString(), pending: pending
    };
    if (store(draftKey, JSON.stringify(draft))) {
      dirty = false;
      setStatus("savedAt", { time: timeOf(now) }, automatic === true);
    } else {
      setStatus("saveFailed");
    }
  }

  function autosave() { saveDraft(true); }

  // On the right link, a draft written meanwhile on an incomplete link of the same course
  // (the notice there said the answers are kept) is taken over, once.
  function adoptDraft() {
    if (!offering || !course || recall(draftKey)) { return; }
    var suffix = "|" + course;
    var prefix = "cms.reflection.draft.link:";
    var best = null;
    try {
      for (var i = 0; i < window.localStorage.length; i++) {
        var key = window.localStorage.key(i);
        if (key && key.indexOf(prefix) === 0 && key.slice(-suffix.length) === suffix) {
          var saved = JSON.parse(window.localStorage.getItem(key)).saved_at || "";
          if (!best || saved > best.saved) { best = { key: key, saved: saved }; }
        }
      }
    } catch (e) {
      return;
    }
    if (best && store(draftKey, recall(best.key))) { store(best.key, null); }
  }

  function restoreDraft() {
    adoptDraft();
    var raw = recall(draftKey);
    if (!raw) { return; }
    try {
      var draft = JSON.parse(raw);
      fields.forEach(function (field) {
        var value = draft.answers && draft.answers[field.id];
        if (typeof value === "string") { field.value = value; }
      });
      fields.forEach(updateCount);
      if (draft.pending && typeof draft.pending.file === "string" && draft.pending.data) {
        pending = { file: draft.pending.file, data: draft.pending.data };
      }
      setStatus("restoredAt", { time: timeOf(new Date(draft.saved_at)) });
    } catch (e) {
      store(draftKey, null);  // a draft we cannot read is of no use to anyone
    }
  }

  // -- validation ---------------------------------------------------------------------------
  function markField(field, bad) {
    var error = $(field.id + "-error");
    if (bad) {
      field.setAttribute("aria-invalid", "true");
      error.textContent = messageOf(field);
      error.hidden = false;
    } else {
      field.removeAttribute("aria-invalid");
      error.textContent = "";
      error.hidden = true;
    }
  }

  // An answer as it goes into the file: line and paragraph separators (pasted from a PDF
  // or a word processor) as new lines, other control characters dropped, trimmed.
  function clean(text) {
    return text.replace(/[\u2028\u2029]/g, "\n").replace(CONTROL, "").trim();
  }

  function emailValue() { return emailField.value.trim(); }
  function emailOk() {
    var value = emailValue();
    return EMAIL_SHAPE.test(value) && value.length <= 254 && !/[\u0000-\u001f\u007f-\u009f]/.test(value);
  }

  function messageOf(field) {
    return t(problemOf(field) || "errorEmpty", { max: MAX_ANSWER.toLocaleString(language) });
  }

  // What is wrong with a field, as the key of its message, or null: an e-mail left
  // empty is missing; one typed wrong is "not an e-mail address".
  function problemOf(field) {
    if (field === emailField) {
      if (emailOk()) { return null; }
      return emailValue() ? "errorEmail" : "errorEmailEmpty";
    }
    var text = clean(field.value);
    if (!text) { return "errorEmpty"; }
    return text.length > MAX_ANSWER ? "errorLong" : null;
  }

  // Every field that still needs something, in the page's order.
  function missing() {
    return fields.concat([emailField]).filter(function (field) { return problemOf(field) !== null; });
  }

  function validate() {
    var bad = missing();
    fields.forEach(function (field) { markField(field, bad.indexOf(field) >= 0); });
    markField(emailField, bad.indexOf(emailField) >= 0);
    listProblems(bad);
    $("error-summary").hidden = bad.length === 0;
    if (bad.length) { $("error-summary").focus(); }  // read out first; each item leads on
    return bad.length === 0;
  }

  // The summary: each problem a link to its field, named by its question.
  function listProblems(bad) {
    var list = $("error-list");
    list.textContent = "";
    bad.forEach(function (field) {
      var label = document.querySelector("label[for='" + field.id + "'] span[data-i18n]");
      var link = document.createElement("a");
      link.href = "#" + field.id;
      link.textContent = label.textContent + " — " + messageOf(field);
      link.addEventListener("click", function (event) {
        event.preventDefault();  // to the field, without writing "#..." into the address
        field.focus();
        field.scrollIntoView({ block: "center" });
      });
      var item = document.createElement("li");
      item.appendChild(link);
      list.appendChild(item);
    });
  }

  // Once shown, the summary follows the answers, and goes when nothing is wrong any more.
  function recheckSummary() {
    if ($("error-summary").hidden) { return; }
    var bad = missing();
    if (bad.length === 0) { $("error-summary").hidden = true; } else { listProblems(bad); }
  }

  // -- dialogs: focus trapped inside, Escape closes, focus returns --------------------------
  var openDialog = null;
  var returnFocus = null;
  var background = [document.querySelector(".site-header"), document.querySelector("main"), document.querySelector("footer"), document.querySelector(".skip")];

  function focusables(dialog) {
    return Array.prototype.filter.call(
      dialog.querySelectorAll("button, [href], textarea, input, select, [tabindex]:not([tabindex='-1'])"),
      function (el) { return !el.disabled && el.getClientRects().length > 0; }  // shown ones
    );
  }

  function showDialog(dialog, opener, first) {
    returnFocus = opener || document.activeElement;
    openDialog = dialog;
    $("backdrop").hidden = false;
    dialog.hidden = false;
    background.forEach(function (el) { if (el) { el.setAttribute("inert", ""); el.setAttribute("aria-hidden", "true"); } });
    (first || focusables(dialog)[0]).focus();
  }

  function closeDialog() {
    if (!openDialog) { return; }
    openDialog.hidden = true;
    $("backdrop").hidden = true;
    background.forEach(function (el) { if (el) { el.removeAttribute("inert"); el.removeAttribute("aria-hidden"); } });
    openDialog = null;
    if (returnFocus && returnFocus.focus) { returnFocus.focus(); }
  }

  document.addEventListener("keydown", function (event) {
    if (openDialog) {
      if (event.key === "Escape") {
        event.preventDefault();
        closeDialog();
      } else if (event.key === "Tab") {
        var items = focusables(openDialog);
        var first = items[0];
        var last = items[items.length - 1];
        if (event.shiftKey && document.activeElement === first) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault();
          first.focus();
        } else if (items.indexOf(document.activeElement) < 0) {
          event.preventDefault();
          first.focus();
        }
      }
      return;
    }
    if ((event.ctrlKey || event.metaKey) && (event.key === "s" || event.key === "S")) {
      event.preventDefault();
      saveDraft();
    }
  });

  // -- clear and submit: the answers stay until the student says the file is saved --------
  function emptyForm() {
    window.clearTimeout(typingTimer);
    fields.forEach(function (field) { field.value = ""; markField(field, false); updateCount(field); });
    $("error-summary").hidden = true;
    pending = null;
    store(draftKey, null);
    dirty = false;
  }

  function download(data, name) {
    var blob = new Blob([JSON.stringify(data, null, 2) + "\n"], { type: "application/json" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    document.body.removeChild(link);
    window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
  }

  function showReady(opener) {
    $("ready-text").textContent = readyText();
    showDialog($("ready-dialog"), opener || $("submit"));
  }

  function submit() {
    if (offering === null || !validate()) { return; }
    var values = answers();
    var trimmed = {};
    QUESTIONS.forEach(function (q) { trimmed[q] = clean(values[q]); });
    store(EMAIL_KEY, emailValue());
    var data = {
      offering: Number(offering),
      email: emailValue(),
      language: language,
      answers: trimmed,
      submitted_at: new Date().toISOString()
    };
    pending = { file: "reflection-offering-" + offering + ".json", data: data };
    saveDraft();  // a reload before "I have saved it" brings all of this back
    download(data, pending.file);
    showReady($("submit"));
  }

  // "I have saved it": the answers go, and the top of the page says the student is done
  // (a thank-you under the fold and an empty form looked like starting over).
  function handedIn() {
    emptyForm();
    returnFocus = null;
    closeDialog();
    setStatus("handedIn");
    showDone(true);
  }

  function showDone(done) {
    $("done-banner").hidden = !done;
    form.hidden = done;
    $("intro").hidden = done;
    if (done) {
      window.scrollTo(0, 0);
      $("done-banner").focus();
    }
  }

  // -- wiring -------------------------------------------------------------------------------
  form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
  fields.forEach(function (field) {
    field.addEventListener("input", function () {
      updateCount(field);
      dirty = true;
      if (pending) {  // the file no longer holds these answers: it is to be handed over again
        pending = null;
        saveDraft(true);
      }
      // a marked field follows what is typed: its message changes, or goes
      if (field.getAttribute("aria-invalid") === "true") { markField(field, problemOf(field) !== null); }
      recheckSummary();
      window.clearTimeout(typingTimer);
      typingTimer = window.setTimeout(autosave, AUTOSAVE_AFTER_TYPING);
    });
  });
  emailField.addEventListener("input", function () {
    if (emailField.getAttribute("aria-invalid") === "true") { markField(emailField, !emailOk()); }
    if (emailOk()) { store(EMAIL_KEY, emailValue()); }  // remembered as soon as it is one
    if (pending) {  // the file names the e-mail as it was: to be handed over again
      pending = null;
      saveDraft(true);
    }
    recheckSummary();
  });
  $("skip").addEventListener("click", function (event) {
    event.preventDefault();
    fields[0].focus();
  });
  $("save").addEventListener("click", function () { saveDraft(); });
  $("submit").addEventListener("click", submit);
  $("clear").addEventListener("click", function () { showDialog($("confirm-dialog"), $("clear"), $("confirm-cancel")); });
  $("confirm-cancel").addEventListener("click", closeDialog);
  $("confirm-yes").addEventListener("click", function () {
    emptyForm();
    setStatus("cleared");
    closeDialog();
    fields[0].focus();
  });
  $("download-again").addEventListener("click", function () { download(pending.data, pending.file); });
  $("ready-later").addEventListener("click", closeDialog);
  $("saved-it").addEventListener("click", handedIn);
  $("start-again").addEventListener("click", function () {
    showDone(false);
    setStatus("notSaved");
    fields[0].focus();
  });
  $("backdrop").addEventListener("click", function () { if (openDialog === $("confirm-dialog")) { closeDialog(); } });
  Array.prototype.forEach.call(document.querySelectorAll(".lang"), function (button) {
    button.addEventListener("click", function () { setLanguage(button.getAttribute("data-lang"), true); });
  });
  window.setInterval(function () { if (dirty) { autosave(); } }, AUTOSAVE_EVERY);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && dirty) { autosave(); }
  });

  var remembered = recall(EMAIL_KEY);
  if (remembered) { emailField.value = remembered; }
  restoreDraft();
  showCourse();
  setLanguage(initialLanguage(), false).then(function () {
    if (pending) { showReady(); }  // handed over, not yet confirmed saved: ask again
    document.documentElement.setAttribute("data-ready", "true");
  });
})();
