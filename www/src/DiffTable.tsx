// A conflict's field diff, side by side: each field changed since the version both sides started
// from, with who changed it. Fields changed on both sides to different values are highlighted:
// those are the ones a person has to decide.
import type { FieldDiff } from "ferrysync";
import { pathName, showValue } from "./fields";

const changedBy: Record<FieldDiff["change"], string> = {
  local: "you",
  server: "the server",
  "both-same": "both, the same way",
  "both-different": "both, differently",
};

export function DiffTable({ diff, caption }: { diff: ReadonlyArray<FieldDiff>; caption: string }) {
  return (
    <table className="diff" data-testid="conflict-diff">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Before</th>
          <th scope="col">Mine</th>
          <th scope="col">Theirs</th>
          <th scope="col">Changed by</th>
        </tr>
      </thead>
      <tbody>
        {diff.map((field) => (
          <tr
            key={pathName(field.path)}
            className={field.change === "both-different" ? "clash" : undefined}
            data-testid="diff-row"
            data-field={pathName(field.path)}
            data-change={field.change}
          >
            <th scope="row">{pathName(field.path)}</th>
            <td data-testid="diff-base">{showValue(field.base)}</td>
            <td data-testid="diff-local">{showValue(field.local)}</td>
            <td data-testid="diff-server">{showValue(field.server)}</td>
            <td data-testid="diff-change">{changedBy[field.change]}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
