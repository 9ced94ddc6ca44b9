// A modal confirmation for a step that cannot be undone: it says what will be lost, and nothing
// happens until the person confirms. Cancel, Escape and the dialog going away all change nothing.
import { useEffect, useId, useRef, type ReactNode, type SyntheticEvent } from "react";

interface Props {
  /** Prefix of the test ids: `<name>-dialog`, `<name>-confirm`, `<name>-cancel`. */
  name: string;
  title: string;
  confirmLabel: string;
  confirmDisabled: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  /** What will be lost, and any choice that changes it. */
  children: ReactNode;
}

export function ConfirmDialog({ name, title, confirmLabel, confirmDisabled, onConfirm, onCancel, children }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();

  useEffect(() => {
    const shown = dialog.current;
    if (!shown) return;
    // showModal() rather than the open attribute: the page behind becomes inert and Escape
    // cancels. Focus starts on Cancel, so that Enter alone never destroys anything.
    shown.showModal();
    cancel.current?.focus();
    return () => shown.close();
  }, []);

  function escaped(event: SyntheticEvent<HTMLDialogElement>) {
    // The browser would close the dialog itself; the parent decides whether it stays rendered.
    event.preventDefault();
    onCancel();
  }

  return (
    <dialog ref={dialog} className="confirm" data-testid={`${name}-dialog`} aria-labelledby={titleId} aria-describedby={bodyId} onCancel={escaped}>
      <h2 id={titleId}>{title}</h2>
      <div id={bodyId}>{children}</div>
      <div className="actions">
        <button type="button" className="danger" data-testid={`${name}-confirm`} disabled={confirmDisabled} onClick={onConfirm}>
          {confirmLabel}
        </button>
        <button type="button" ref={cancel} data-testid={`${name}-cancel`} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
