package dev.easel.api;

import dev.easel.worker.ModelCatalog;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.List;

/**
 * {@code GET /v1/models}: the models this worker serves, each with its family, the defaults a job
 * that leaves them out gets, its limits and capabilities (docs/job-contract.md, "Models"). Needs a
 * credential like every /v1 endpoint; the list is the same for every tenant.
 */
@Path("/v1/models")
public class ModelsResource {

    /** The response body. */
    public record Models(List<ModelCatalog.Model> models) {
    }

    @Inject
    ModelCatalog catalog;

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public Models list() {
        return new Models(catalog.describe());
    }
}
