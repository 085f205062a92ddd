/* The course site's own behaviour, on every page.
 *
 * A displayed equation wider than its column is typeset smaller, just enough to fit, down to half its size; one that
 * would need less than half keeps half and scrolls within its own box. Inline math wider than its paragraph (a long
 * formula on a phone) is made smaller the same way. The fit is redone when the width changes (a phone turned, a
 * window resized, the page laid out for print).
 *
 * In a text table, long names in code may break between their words, so that a column of names does not take the
 * room of a column of explanations; and each cell with text gets its column's heading (data-heading), which a phone
 * shows before the cell's text (course.css lays each row out as a block there, without the empty cells).
 *
 * A notebook's long line of code wraps with a hanging indent; a punctuation mark after inline math stays on its line.
 */
"use strict";

const SMALLEST = 0.5;

function fitEquations() {
  for (const box of document.querySelectorAll("mjx-container")) {
    // MathJax sets the size it typesets at on the element itself: keep it, to start from it on every fit.
    if (box.dataset.typesetSize === undefined) {
      box.dataset.typesetSize = box.style.fontSize;
    }
    box.style.fontSize = box.dataset.typesetSize;
    let room = box.clientWidth;
    let need = box.scrollWidth;
    if (box.getAttribute("display") !== "true") {
      // Inline math: the room is the width of the block it stands in (a paragraph, a list item, a cell).
      let block = box.parentElement;
      while (getComputedStyle(block).display.startsWith("inline")) {
        block = block.parentElement;
      }
      const style = getComputedStyle(block);
      room = block.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      need = box.getBoundingClientRect().width;
    }
    if (need > room) {
      const full = parseFloat(getComputedStyle(box).fontSize);
      // 1 % to spare, so that rounding never leaves a scroll bar of a pixel.
      box.style.fontSize = `${full * Math.max(SMALLEST, (0.99 * room) / need)}px`;
    }
  }
}

// Let a long name in a table's code break where its words meet: after an underscore or a dot followed by a name,
// before a capital that follows a small letter (intermediate|Storage|Level, cold_|start_|filter).
function allowBreaksInCode(table) {
  for (const code of table.querySelectorAll("code")) {
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) {
      texts.push(walker.currentNode);
    }
    for (const text of texts) {
      const pieces = text.data.split(/(?<=_)(?=\w)|(?<=\.)(?=[A-Za-z])|(?<=[a-z])(?=[A-Z])/);
      if (pieces.length > 1) {
        text.replaceWith(...pieces.flatMap((piece, index) => (index ? [document.createElement("wbr"), piece] : [piece])));
      }
    }
  }
}

function layOutTables() {
  for (const table of document.querySelectorAll("article table.table")) {
    allowBreaksInCode(table);
    const headings = Array.from(table.querySelectorAll("thead th"), (th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      Array.from(row.cells).forEach((cell, column) => {
        if (headings[column] && cell.textContent.trim()) {
          cell.dataset.heading = headings[column];
        }
      });
    }
  }
}

// A full stop, comma or closing bracket right after inline math stays on the math's line: a browser may otherwise
// break between the two (there is no space between them, but the math is a box of its own), and the mark then starts
// the next line alone.
function keepMarksWithMath() {
  for (const math of document.querySelectorAll("span.math")) {
    const next = math.nextSibling;
    const marks = next && next.nodeType === Node.TEXT_NODE ? next.data.match(/^[.,;:!?)\]]+/) : null;
    if (marks) {
      next.data = next.data.slice(marks[0].length);
      const unit = document.createElement("span");
      unit.className = "math-and-marks";
      math.replaceWith(unit);
      unit.append(math, marks[0]);
    }
  }
}

// A long line of a notebook's code wraps (course.css) with a hanging indent, so that its continuation does not look
// like a new line of code: each line of a code cell becomes a box of its own (the newlines stay between the boxes,
// for copying).
function hangWrappedLines() {
  for (const pre of document.querySelectorAll("div.cell_input pre")) {
    const lines = [[]];
    for (const node of Array.from(pre.childNodes)) {
      node.textContent.split("\n").forEach((piece, index) => {
        if (index > 0) {
          lines.push([]);
        }
        if (piece) {
          const part = node.nodeType === Node.TEXT_NODE ? document.createTextNode(piece) : node.cloneNode(false);
          part.textContent = piece;
          lines[lines.length - 1].push(part);
        }
      });
    }
    if (!lines[lines.length - 1].length) {
      lines.pop();
    }
    pre.replaceChildren(...lines.flatMap((nodes, index) => {
      const line = document.createElement("span");
      line.className = "code-line";
      line.append(...nodes);
      // Continuation lines start four characters further in than the line's own indentation.
      const hang = line.textContent.match(/^ */)[0].length + 4;
      line.style.paddingLeft = `${hang}ch`;
      line.style.textIndent = `-${hang}ch`;
      return index ? ["\n", line] : [line];
    }), "\n");
  }
}

// A search result's snippet: the text of the page's article (not the buttons, menus and contents around it), with
// each piece of math as its TeX source when that is short and plain (N, K = 3), else as an ellipsis.
function articleText(html, anchor) {
  const page = new DOMParser().parseFromString(html, "text/html");
  page.querySelectorAll(".headerlink, script, style, span.eqno").forEach((element) => element.remove());
  page.querySelectorAll(".math").forEach((math) => {
    const tex = math.textContent.replace(/^\s*\\[([]|\\[)\]]\s*$/g, "").trim();
    math.replaceWith(/^[\w\s=<>+\-,.()]{1,20}$/.test(tex) ? tex : "…");
  });
  const article = page.querySelector("article.bd-article") || page.body;
  const part = anchor ? article.querySelector(anchor) : null;
  return (part || article).textContent.replace(/\s+/g, " ");
}

// Sphinx's searchtools.js declares Search with const: a global binding, not a property of window.
if (typeof Search !== "undefined" && Search.htmlToText) {
  Search.htmlToText = articleText;
}

document.addEventListener("DOMContentLoaded", () => {
  layOutTables();
  hangWrappedLines();
  keepMarksWithMath();
  if (window.MathJax && MathJax.startup) {
    MathJax.startup.promise.then(fitEquations);
  }
  // The article's width changes with the window and, a moment later, when the theme's sidebars slide in or out at
  // its breakpoints: refit whenever the article itself is resized, not only when the window is.
  let pending = null;
  let width = null;
  new ResizeObserver((entries) => {
    if (entries[0].contentRect.width !== width) {
      width = entries[0].contentRect.width;
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(fitEquations);
    }
  }).observe(document.querySelector("article.bd-article") || document.body);
  window.matchMedia("print").addEventListener("change", fitEquations);
});
