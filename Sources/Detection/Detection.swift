// Detection module.
