// A button-like label that opens the browser's file dialog: the native input stays in the page
// (for keyboards and screen readers) but out of sight, since its own look does not fit a row.
import { useId } from "react";

interface Props {
  /** What the button says: the picked file's name, or what picking does. */
  text: string;
  label: string;
  testId: string;
  onPick: (file: File) => void;
  disabled?: boolean;
}

export function FilePicker({ text, label, testId, onPick, disabled = false }: Props) {
  const id = useId();
  return (
    <label className="file-picker" htmlFor={id} title={label}>
      <input
        id={id}
        type="file"
        className="file-input"
        data-testid={testId}
        aria-label={label}
        disabled={disabled}
        onChange={(event) => {
          const file = event.target.files?.[0];
          // The same file picked again must fire `change` again.
          event.target.value = "";
          if (file) onPick(file);
        }}
      />
      {text}
    </label>
  );
}
