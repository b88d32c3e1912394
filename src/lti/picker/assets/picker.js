// The picker's enhancement. The page works without it: every button submits the one form.
// With it, searches and filters update the results in place (the server renders them; this
// swaps them in), "more" appends, details open in a dialog, the tray follows the ticks, and
// failed pictures show their placeholder. Plain script, no build step.
(() => {
  'use strict';
  const form = document.getElementById('picker');
  if (!form || !('fetch' in window) || !('DOMParser' in window)) return;
  document.documentElement.classList.add('js');

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const multiple = form.dataset.multiple === 'true';
  const announcer = document.getElementById('announcer');
  const dialog = document.getElementById('preview-dialog');
  const filters = document.getElementById('filters');
  const trayList = document.getElementById('tray-list');
  const template = document.getElementById('tray-item-template');
  const wide = window.matchMedia('(min-width: 40rem)');

  const announce = (text) => {
    announcer.textContent = '';
    window.setTimeout(() => { announcer.textContent = text; }, 60);
  };

  // Pictures that do not load show the placeholder tile under them.
  const markFailed = (img) => img.closest('.thumb')?.classList.add('thumb-failed');
  document.addEventListener('error', (event) => {
    const target = event.target;
    if (target instanceof HTMLImageElement && target.classList.contains('thumb-img')) markFailed(target);
  }, true);
  const checkPictures = (root) => $$('img.thumb-img', root).forEach((img) => {
    if (img.complete && img.naturalWidth === 0) markFailed(img);
  });
  checkPictures(document);

  // Filters: always open beside the results on a wide screen, a panel on a narrow one.
  const fitFilters = () => { if (filters) filters.open = wide.matches; };
  fitFilters();
  wide.addEventListener('change', fitFilters);
  const closeFilters = () => {
    if (!filters || wide.matches) return;
    filters.open = false;
    $('summary', filters)?.focus();
  };
  const showDoneButtons = () => $$('[data-action="close-filters"]').forEach((button) => { button.hidden = false; });
  showDoneButtons();
  filters?.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && filters.open && !wide.matches) {
      event.preventDefault();
      closeFilters();
    }
  });

  // Counts in the teacher's language: the server renders each form with '#' for the number.
  const rules = new Intl.PluralRules(document.documentElement.lang || 'en');
  const plural = (element, count) => {
    const key = count === 0 ? 'zero' : rules.select(count);
    return (element.dataset[key] ?? element.dataset.other ?? '').replace('#', String(count));
  };

  // The selection tray.
  const selectedIds = () => $$('li', trayList).map((item) => item.dataset.id);
  const resultBox = (id) => $$('#result-list input[name="resource"]').find((input) => input.value === id);
  const updateTray = () => {
    const count = $$('li', trayList).length;
    const label = document.getElementById('tray-count');
    label.textContent = plural(label, count);
    document.getElementById('tray-badge').textContent = String(count);
    const insert = document.getElementById('insert');
    insert.textContent = plural(insert, count);
    document.getElementById('tray-empty').hidden = count > 0;
    if (count > 0) document.getElementById('tray-message').hidden = true;
  };
  const trayItem = (id, title) => {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.id = id;
    $('.tray-title', item).textContent = title;
    $('.tray-remove-title', item).textContent = ` ${title}`;
    $('button', item).value = id;
    return item;
  };
  const select = (id, title) => {
    if (!multiple) trayList.replaceChildren();
    if (!selectedIds().includes(id)) trayList.append(trayItem(id, title));
    updateTray();
  };
  const unselect = (id) => {
    $$('li', trayList).filter((item) => item.dataset.id === id).forEach((item) => item.remove());
    updateTray();
  };

  // Updating the results in place: the same request the form would make, swapped in.
  let controller = null;
  let timer = 0;
  const formUrl = (submitter) => {
    const data = submitter ? new FormData(form, submitter) : new FormData(form);
    return `${form.getAttribute('action')}?${new URLSearchParams(data).toString()}`;
  };
  const adopt = (doc, id) => {
    const fresh = doc.getElementById(id);
    return fresh ? document.adoptNode(fresh) : null;
  };
  const replaceKeepingFocus = (id, doc) => {
    const current = document.getElementById(id);
    const fresh = adopt(doc, id);
    if (!current || !fresh) return;
    const active = document.activeElement;
    const keep = active && current.contains(active) && active.id ? active.id : null;
    const caret = keep && active.type === 'search' ? [active.selectionStart, active.selectionEnd] : null;
    current.replaceWith(fresh);
    if (keep) {
      const again = document.getElementById(keep);
      if (again) {
        again.focus();
        if (caret) again.setSelectionRange(caret[0], caret[1]);
      } else {
        fresh.querySelector('input, select, button')?.focus();
      }
    }
  };
  const update = async ({ submitter = null, append = false } = {}) => {
    window.clearTimeout(timer);
    controller?.abort();
    controller = new AbortController();
    const url = formUrl(submitter);
    const region = document.getElementById('results');
    region.setAttribute('aria-busy', 'true');
    let doc;
    try {
      const response = await fetch(url, { signal: controller.signal, headers: { Accept: 'text/html' }, credentials: 'same-origin' });
      doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    } catch (error) {
      region.removeAttribute('aria-busy');
      if (error.name !== 'AbortError') window.location.assign(url);
      return;
    }
    region.removeAttribute('aria-busy');
    if (!doc.getElementById('results-region')) {
      window.location.assign(url); // a refusal page (the launch expired): show it whole
      return;
    }
    if (append) {
      const list = document.getElementById('result-list');
      const added = $$('#result-list > li', doc).map((item) => document.adoptNode(item));
      list.append(...added);
      document.getElementById('paging').replaceWith(adopt(doc, 'paging'));
      $$('[data-paging="previous"]').forEach((button) => button.remove());
      $('input[name="resource"]', added[0] ?? document)?.focus();
    } else {
      replaceKeepingFocus('results-region', doc);
      replaceKeepingFocus('filters-body', doc);
      const freshSummary = doc.querySelector('#filters > summary');
      if (freshSummary && filters) {
        $('summary', filters).replaceChildren(...Array.from(freshSummary.childNodes).map((node) => document.adoptNode(node)));
      }
      const freshTray = doc.getElementById('tray-list');
      if (freshTray) trayList.replaceChildren(...Array.from(freshTray.children).map((node) => document.adoptNode(node)));
      updateTray();
      showDoneButtons();
      window.history.replaceState(null, '', url);
    }
    checkPictures(document);
    const count = document.getElementById('result-count');
    if (count) announce(count.textContent.trim());
  };
  const later = (delay) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => update(), delay);
  };

  form.addEventListener('change', (event) => {
    const target = event.target;
    if (target.matches('#result-list input[name="resource"]')) {
      if (target.checked) select(target.value, target.dataset.title || target.value);
      else unselect(target.value);
      return;
    }
    if ((target.closest('#filters-body') || target.id === 'sort') && target.type !== 'search') later(120);
  });

  form.addEventListener('input', (event) => {
    const target = event.target;
    if (target.id === 'q') later(450);
    else if (target.name === 'standard_q') later(300);
  });

  form.addEventListener('click', (event) => {
    if (event.target.closest('[data-action="close-filters"]')) {
      event.preventDefault();
      closeFilters();
    }
  });

  form.addEventListener('submit', (event) => {
    const submitter = event.submitter;
    if (submitter && submitter.hasAttribute('formaction')) {
      if (submitter.value === 'insert' && selectedIds().length === 0) {
        event.preventDefault();
        const message = document.getElementById('tray-message');
        message.textContent = form.dataset.chooseFirst;
        message.hidden = false;
      }
      return; // insert or cancel: the real form post
    }
    event.preventDefault();
    if (!submitter) {
      update();
      return;
    }
    if (submitter.name === 'preview') {
      openPreview(submitter.value, submitter);
    } else if (submitter.name === 'remove') {
      const item = submitter.closest('li');
      const next = item?.nextElementSibling ?? item?.previousElementSibling;
      const box = resultBox(submitter.value);
      if (box) box.checked = false;
      unselect(submitter.value);
      const nextButton = next ? $('button', next) : null;
      (nextButton ?? $('#tray-details summary'))?.focus();
    } else if (submitter.dataset.paging === 'more') {
      update({ submitter, append: true });
    } else {
      update({ submitter });
    }
  });

  // Details in a dialog (native: focus stays inside, Escape closes, focus returns).
  let opener = null;
  const syncPreviewButton = () => {
    const section = $('#preview', dialog);
    const button = $('[data-action="toggle-selection"]', dialog);
    if (!section || !button) return;
    const on = selectedIds().includes(section.dataset.id);
    button.textContent = on ? button.dataset.remove : button.dataset.add;
    button.classList.toggle('primary', !on);
    button.classList.toggle('secondary', on);
  };
  const openPreview = async (id, button) => {
    opener = button;
    const launch = form.elements.launch.value;
    const url = `/lti/picker/preview?launch=${encodeURIComponent(launch)}&id=${encodeURIComponent(id)}`;
    let section = null;
    try {
      const response = await fetch(url, { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
      const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
      section = doc.getElementById('preview');
      if (section) section = document.adoptNode(section);
    } catch (error) {
      section = null;
    }
    if (!section) {
      window.location.assign(formUrl(button));
      return;
    }
    dialog.replaceChildren(section);
    syncPreviewButton();
    checkPictures(dialog);
    dialog.showModal();
    document.getElementById('preview-title')?.focus();
  };
  dialog.addEventListener('click', (event) => {
    const action = event.target.closest('[data-action]')?.dataset.action;
    if (action === 'close-preview' || event.target === dialog) {
      dialog.close();
    } else if (action === 'toggle-selection') {
      const section = $('#preview', dialog);
      const id = section.dataset.id;
      const title = $('#preview-title', dialog).textContent.trim();
      const box = resultBox(id);
      if (selectedIds().includes(id)) {
        if (box) box.checked = false;
        unselect(id);
      } else {
        if (box) box.checked = true;
        select(id, title);
      }
      syncPreviewButton();
      announce(document.getElementById('tray-count').textContent);
    }
  });
  // In an LMS's frame, Tab past the dialog's last control would leave the picker for the
  // LMS's page (where Escape closes the LMS's own window): it wraps around instead.
  dialog.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab') return;
    const focusable = [...dialog.querySelectorAll('a[href], button:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex="-1"])')]
      .filter((el) => el.offsetParent !== null || el === document.activeElement);
    if (focusable.length === 0) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const here = document.activeElement;
    if (event.shiftKey && (here === first || !dialog.contains(here) || here === $('#preview-title', dialog))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && here === last) {
      event.preventDefault();
      first.focus();
    }
  });
  dialog.addEventListener('close', () => {
    dialog.replaceChildren();
    opener?.focus();
    opener = null;
  });
})();
