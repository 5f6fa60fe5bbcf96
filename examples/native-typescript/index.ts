// A cache for the web service and a queue for the workers, in the workspace the API key
// sees (RENDER_API_KEY, or `pulumi config set --secret render-kv:apiKey ...`).
import * as pulumi from "@pulumi/pulumi";
import * as renderKv from "@render-kv/pulumi";

const config = new pulumi.Config();
const officeCidr = config.get("officeCidr") ?? "203.0.113.0/24";

const cache = new renderKv.KeyValue("cache", {
    plan: "starter",
    workload: "cache", // evicts the least recently used keys when full
    ipAllowList: [{ cidrBlock: officeCidr, description: "office" }],
});

const jobs = new renderKv.KeyValue("jobs", {
    plan: "starter",
    workload: "queue", // never evicts, keeps a journal: no job is lost on a restart
});

export const cacheUrl = cache.internalConnectionString; // secret
export const jobsUrl = jobs.internalConnectionString; // secret
export const cacheDashboard = cache.dashboardUrl;
