// Shows why the database could not be opened: FerrysyncProvider throws the rejection of its
// `db` promise to the nearest error boundary, and this is that boundary.
import { Component, type ReactNode } from "react";
import { ErrorBanner } from "./ErrorBanner";
import { toShownError, type ShownError } from "./errors";

interface State {
  failed: ShownError | null;
}

export class OpenFailed extends Component<{ children: ReactNode }, State> {
  override state: State = { failed: null };

  static getDerivedStateFromError(error: unknown): State {
    return { failed: toShownError(error) };
  }

  override render() {
    if (this.state.failed === null) return this.props.children;
    return <ErrorBanner error={this.state.failed} onDismiss={() => location.reload()} />;
  }
}
