// Shows the last error by its name.
import type { ShownError } from "./errors";

interface Props {
  error: ShownError;
  onDismiss: () => void;
}

export function ErrorBanner({ error, onDismiss }: Props) {
  return (
    <div className="card error" role="alert" data-testid="error">
      <div>
        <span className="name" data-testid="error-name">
          {error.name}
        </span>
        <p data-testid="error-message">{error.message}</p>
        {error.hint && <p>{error.hint}</p>}
      </div>
      <button type="button" data-testid="error-dismiss" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
