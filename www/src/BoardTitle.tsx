// The board's title above the tasks, renamed in place. Shared by everyone on the board: when two
// people rename it at once, the server's version wins and the sync log says what was replaced.
import { useState, type FormEvent } from "react";
import type { Collection } from "ferrysync";
import { useRecord } from "ferrysync/react";
import { BOARD_ID, type Board } from "./database";

interface Props {
  board: Collection<Board>;
  onError: (error: unknown) => void;
}

const UNTITLED = "Tasks";

export function BoardTitle({ board, onError }: Props) {
  const record = useRecord(board, BOARD_ID);
  const [draft, setDraft] = useState<string | null>(null);
  const title = record?.title ?? UNTITLED;

  function save(event: FormEvent) {
    event.preventDefault();
    const next = draft?.trim();
    setDraft(null);
    if (next && next !== title) board.put({ id: BOARD_ID, title: next }).catch(onError);
  }

  if (draft !== null) {
    return (
      <form className="board-title" onSubmit={save}>
        <input
          type="text"
          data-testid="board-title-input"
          aria-label="Board title"
          autoFocus
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={(event) => event.key === "Escape" && setDraft(null)}
        />
        <button type="submit" data-testid="board-title-save">
          Save
        </button>
      </form>
    );
  }
  return (
    <div className="board-title">
      <h2 data-testid="board-title">{title}</h2>
      <button type="button" data-testid="board-title-edit" onClick={() => setDraft(title)}>
        Rename
      </button>
    </div>
  );
}
