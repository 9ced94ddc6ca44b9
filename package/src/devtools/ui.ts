// The few building blocks every section uses. The package compiles without JSX (as the React
// bindings do), so elements are written with createElement, named `h` for short.
import { createElement, type ReactNode } from "react";

export const h = createElement;

/** One part of the panel: a native <details>, so it opens and closes without state of ours and
 * stays as the developer left it while its content re-renders. `name` is its data-section. */
export function Section({
  name,
  title,
  count,
  alert = false,
  children,
}: {
  name: string;
  title: string;
  /** Shown beside the title, e.g. the number of entries. */
  count?: number | undefined;
  /** Shows the count in the colour of trouble (failed changes, conflicts). */
  alert?: boolean;
  children?: ReactNode;
}): ReactNode {
  const badge = count === undefined ? null : h("span", { className: alert && count > 0 ? "fsd-count fsd-bad" : "fsd-count" }, count);
  return h("details", { className: "fsd-section", "data-section": name, open: true }, h("summary", null, title, badge), children);
}

/** Label and value pairs; each value carries `data-field` (its key) for anyone reading the
 * panel's DOM, the project's tests among them. */
export function Fields({ rows }: { rows: ReadonlyArray<readonly [key: string, label: string, value: ReactNode]> }): ReactNode {
  return h(
    "dl",
    { className: "fsd-fields" },
    rows.map(([key, label, value]) => [h("dt", { key: `${key}-label` }, label), h("dd", { key, "data-field": key }, value)]),
  );
}

/** A table with a header row; `rows` are already <tr> elements. */
export function Table({ head, rows }: { head: ReadonlyArray<string>; rows: ReactNode }): ReactNode {
  return h(
    "table",
    { className: "fsd-table" },
    h("thead", null, h("tr", null, head.map((name) => h("th", { key: name }, name)))),
    h("tbody", null, rows),
  );
}

/** "… and N more" under a list cut at `shown` of `total`. A queue of thousands would make the
 * panel itself the slow part of the page. */
export function More({ shown, total }: { shown: number; total: number }): ReactNode {
  return total > shown ? h("p", { className: "fsd-muted" }, `… and ${total - shown} more`) : null;
}

export function Empty({ children }: { children?: ReactNode }): ReactNode {
  return h("p", { className: "fsd-muted" }, children);
}

export function Button({
  onClick,
  disabled = false,
  danger = false,
  children,
}: {
  onClick: () => void;
  disabled?: boolean;
  danger?: boolean;
  /** The label; optional in the type only because createElement passes it as an argument. */
  children?: ReactNode;
}): ReactNode {
  return h("button", { type: "button", className: danger ? "fsd-button fsd-danger" : "fsd-button", onClick, disabled }, children);
}

/** Yes or no, in the colour of good or bad news. */
export function flag(value: boolean, good = true): ReactNode {
  return h("span", { className: value === good ? "fsd-ok" : "fsd-bad" }, value ? "yes" : "no");
}
