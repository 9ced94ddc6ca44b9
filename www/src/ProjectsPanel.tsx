// "Projects on this device": a switch per project. A device holds the tasks of the projects it
// syncs, and the tasks of no project, which every device syncs.
import { PROJECTS } from "./projects";
import { ProjectSwitch } from "./ProjectSwitch";

export function ProjectsPanel({ onError }: { onError: (error: unknown) => void }) {
  return (
    <section className="card projects" data-testid="projects" aria-labelledby="projects-heading">
      <h2 id="projects-heading">Projects on this device</h2>
      <p className="hint">
        Only the projects turned on here are synced to this device; turning one off removes its tasks here, never from
        the server. Tasks of no project are always synced.
      </p>
      <ul className="project-list">
        {PROJECTS.map((project) => (
          <ProjectSwitch key={project.id} project={project} onError={onError} />
        ))}
      </ul>
    </section>
  );
}
