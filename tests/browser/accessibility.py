"""An accessibility audit of a rendered page, run inside the browser.

It checks what a screen-reader or low-vision visitor depends on and what a machine
can decide: the document language and title, one ``h1``, one ``main`` landmark, links
and form fields with names, images with alt text, stylesheets from the page's own
origin, and WCAG AA text contrast (4.5:1, or 3:1 for large text) as the page is
painted, in whichever colour scheme the browser context prefers. It returns one
sentence per problem, so a failing test says what to fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import Page

_AUDIT_JS = r"""
() => {
  const problems = [];
  const html = document.documentElement;
  if (!(html.getAttribute('lang') || '').trim()) problems.push('the html element has no lang');
  if (!document.title.trim()) problems.push('the page has no title');
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(`expected one h1, found ${h1}`);
  const mains = document.querySelectorAll('main, [role="main"]').length;
  if (mains !== 1) problems.push(`expected one main landmark, found ${mains}`);

  const nameOf = (element) => (
    element.getAttribute('aria-label') || element.textContent ||
    [...element.querySelectorAll('img[alt]')].map((img) => img.alt).join(' ') ||
    element.getAttribute('title') || ''
  ).trim();
  for (const link of document.querySelectorAll('a[href]')) {
    if (!nameOf(link)) problems.push(`the link to ${link.href} has no text`);
  }
  for (const img of document.querySelectorAll('img:not([alt])')) {
    problems.push(`the image ${img.src} has no alt text`);
  }
  for (const field of document.querySelectorAll(
      'input:not([type="hidden"]):not([type="submit"]), select, textarea')) {
    const labelled = (field.labels && field.labels.length) ||
      field.getAttribute('aria-label') || field.getAttribute('aria-labelledby');
    const name = field.name || field.id || field.type;
    if (!labelled) problems.push(`the form field ${name} has no label`);
  }

  const sheets = [...document.styleSheets];
  if (!sheets.length) problems.push('the page has no stylesheet');
  for (const sheet of sheets) {
    if (sheet.href && new URL(sheet.href).origin !== location.origin) {
      problems.push(`the stylesheet ${sheet.href} is not served by this instance`);
    }
  }

  // Colours as painted: an element's background is its ancestors' backgrounds
  // composited over the canvas, whose colour follows the page's colour scheme.
  const rgba = (text) => {
    const match = /^rgba?\(([^)]*)\)$/.exec(text.trim());
    if (!match) return null;
    const parts = match[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const probe = document.createElement('div');
  probe.style.backgroundColor = 'Canvas';
  html.appendChild(probe);
  const canvas = rgba(getComputedStyle(probe).backgroundColor);
  probe.remove();

  const checked = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!node.textContent.trim() || !element || checked.has(element)) continue;
    checked.add(element);
    const style = getComputedStyle(element);
    if (style.visibility === 'hidden' || !element.getClientRects().length) continue;
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.backgroundImage !== 'none') {
        const tag = e.tagName.toLowerCase();
        problems.push(`cannot check contrast over the background image of <${tag}>`);
      }
      layers.push(rgba(s.backgroundColor));
    }
    let background = canvas;
    for (const layer of layers.reverse()) background = layer ? over(layer, background) : background;
    const color = rgba(style.color);
    if (!color || !background) {
      problems.push(`cannot read the colours of "${node.textContent.trim().slice(0, 40)}"`);
      continue;
    }
    const foreground = over(color, background);
    const [lighter, darker] = [luminance(foreground), luminance(background)].sort((a, b) => b - a);
    const ratio = (lighter + 0.05) / (darker + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const needed = large ? 3 : 4.5;
    if (ratio < needed) {
      const text = node.textContent.trim().slice(0, 40);
      const hex = (c) => '#' + c.slice(0, 3)
        .map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
      problems.push(
        `low contrast ${ratio.toFixed(2)}:1 (needs ${needed}:1) for "${text}" ` +
        `in <${element.tagName.toLowerCase()}>: ${hex(foreground)} on ${hex(background)}`);
    }
  }
  return problems;
}
"""


async def audit(page: Page) -> list[str]:
    """The accessibility problems of the page as rendered; empty when there are none."""
    problems: list[str] = await page.evaluate(_AUDIT_JS)
    return problems
