// Builds a merged version of a conflicting record: the changes made on one side only are taken
// as they are, and for each field both sides changed differently the person picks mine, theirs,
// or (for text) types a value.
import { useState, type FormEvent } from "react";
import type { FieldDiff, Fields } from "ferrysync";
import { mergeFields, pathName, showValue, type FieldPick } from "./fields";

interface Props {
  server: Fields;
  diff: ReadonlyArray<FieldDiff>;
  busy: boolean;
  onMerge: (merged: Fields) => void;
  onCancel: () => void;
}

export function MergeEditor({ server, diff, busy, onMerge, onCancel }: Props) {
  const [picks, setPicks] = useState<ReadonlyMap<string, FieldPick>>(new Map());
  const clashes = diff.filter((field) => field.change === "both-different");
  const pick = (name: string, choice: FieldPick) => setPicks((before) => new Map(before).set(name, choice));

  function submit(event: FormEvent) {
    event.preventDefault();
    onMerge(mergeFields(server, diff, picks));
  }

  return (
    <form className="merge" data-testid="merge-editor" onSubmit={submit}>
      <p className="hint">Changes made on one side only are kept. For each field changed on both sides, choose:</p>
      {clashes.map((field) => {
        const name = pathName(field.path);
        const chosen = picks.get(name) ?? { side: "local" };
        // Only text can be typed back in as it is; other values are picked from a side.
        const typeable = typeof field.local === "string" && typeof field.server === "string";
        return (
          <fieldset key={name} data-testid="merge-field" data-field={name}>
            <legend>{name}</legend>
            <label>
              <input
                type="radio"
                name={`merge-${name}`}
                data-testid="merge-pick-local"
                checked={chosen.side === "local"}
                onChange={() => pick(name, { side: "local" })}
              />
              Mine: {showValue(field.local)}
            </label>
            <label>
              <input
                type="radio"
                name={`merge-${name}`}
                data-testid="merge-pick-server"
                checked={chosen.side === "server"}
                onChange={() => pick(name, { side: "server" })}
              />
              Theirs: {showValue(field.server)}
            </label>
            {typeable && (
              <label className="typed">
                <input
                  type="radio"
                  name={`merge-${name}`}
                  data-testid="merge-pick-typed"
                  checked={chosen.side === "typed"}
                  onChange={() => pick(name, { side: "typed", value: String(field.local) })}
                />
                Other:
                <input
                  type="text"
                  data-testid="merge-typed"
                  aria-label={`Merged value of ${name}`}
                  value={chosen.side === "typed" ? chosen.value : ""}
                  onChange={(event) => pick(name, { side: "typed", value: event.target.value })}
                />
              </label>
            )}
          </fieldset>
        );
      })}
      <div className="actions">
        <button type="submit" className="primary" data-testid="merge-save" disabled={busy}>
          Save merge
        </button>
        <button type="button" data-testid="merge-cancel" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
