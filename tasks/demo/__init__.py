"""The bundled demo study generator (entry point: tasks.demo.generator.generate_demo_study)."""
